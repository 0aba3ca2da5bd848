"""``threadstore copy --to URL``: copy threads from the ``--store`` backend to another one.

The copying rules (same ids, same items in the same order, names and archived state kept,
existing threads skipped, policy-dropped items reported) are those of
:mod:`threadstore.cli.copier`. People get a progress bar on stderr and a summary on stdout;
``--json`` prints the summary as JSON instead. The exit status is 1 when any thread failed.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..store.base import ThreadStore
from ..urls import open_store
from .app import app, fail, print_json, run_store, store_url
from .copier import CopyOutcome, CopyReport, copy_threads

__all__ = ["copy_cmd"]


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )


def _kinds(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} x{count}" for kind, count in sorted(counts.items()))


def _print_summary(report: CopyReport) -> None:
    out = Console(width=None if sys.stdout.isatty() else 160, highlight=False)
    copied, skipped, failed = (report.with_status(s) for s in ("copied", "skipped", "failed"))
    out.print(f"copied {len(copied)}, skipped {len(skipped)}, failed {len(failed)}")
    for o in copied:
        if o.skipped_items:
            out.print(Text(f"  {o.thread_id}: items the target policy does not keep: {_kinds(o.skipped_items)}"))
        if o.altered_items:
            out.print(Text(f"  {o.thread_id}: items trimmed by the target policy: {_kinds(o.altered_items)}"))
        for note in o.notes:
            out.print(Text(f"  {o.thread_id}: {note}"))
    for o in skipped:
        out.print(Text(f"skipped {o.thread_id}: {o.reason}"))
    for o in failed:
        out.print(Text(f"failed {o.thread_id}: {o.reason}"))


@app.command("copy")
def copy_cmd(
    ctx: typer.Context,
    to: Annotated[
        str, typer.Option("--to", help="Target store URL: memory:, local:PATH, grpc://HOST:PORT, postgresql://...")
    ],
    archived: Annotated[
        bool, typer.Option("--archived/--no-archived", help="Also copy archived threads (they stay archived).")
    ] = True,
    thread: Annotated[
        list[str] | None, typer.Option("--thread", "-t", help="Copy only this thread (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Copy threads to another store, keeping ids, items, names and archived state.

    Threads that already exist in the target are skipped, not overwritten.
    """
    progress = _progress(enabled=not as_json and sys.stderr.isatty())
    if to.strip().lower() == "memory:":
        typer.echo("note: a memory: target keeps nothing once this command exits", err=True)

    async def work(source: ThreadStore) -> CopyReport:
        target = open_store(to)
        task = progress.add_task("copying", total=None)

        def on_outcome(outcome: CopyOutcome) -> None:
            progress.update(task, advance=1, description=f"{outcome.status} {outcome.thread_id}")

        try:
            with progress:
                return await copy_threads(
                    source,
                    target,
                    thread_ids=thread or None,
                    include_archived=archived,
                    on_total=lambda total: progress.update(task, total=total),
                    on_outcome=on_outcome,
                )
        finally:
            await target.close()

    report = run_store(store_url(ctx), work)
    if as_json:
        print_json(report.to_json())
    else:
        _print_summary(report)
    if not report.ok:
        raise fail(f"{len(report.with_status('failed'))} thread(s) could not be copied")
