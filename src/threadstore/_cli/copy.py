"""``threadstore copy --to URL``: copy threads from the ``--store`` backend to another one.

The copying rules (same ids, the same lines byte for byte, the same creation and update times,
names and archived state, existing threads skipped, every copy read back and checked) are those
of :mod:`threadstore._transfer.copy`. People get a progress bar on stderr (on a terminal, without ``--quiet``) and a summary on stdout;
``--json`` prints the summary as JSON instead. The exit status is 1 when any thread failed. A
local target that does not exist yet is created.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from threadstore._backends.registry import url_forms
from threadstore._cli.app import app, globals_of
from threadstore._cli.errors import CliFailure
from threadstore._cli.output import out_console, print_json, report_failure
from threadstore._cli.progress import ProgressBar, progress_wanted
from threadstore._cli.resolve import resolve_thread_id
from threadstore._cli.runner import open_for, run_store, store_url
from threadstore._contract.base import ThreadStore
from threadstore.transfer import CopyOutcome, CopyReport, copy_threads

__all__ = ["copy_cmd", "print_summary"]


def print_summary(report: CopyReport, verb: str = "copied") -> None:
    """The human summary of a copy or an import."""
    out = out_console()
    copied, skipped, failed = (report.with_status(s) for s in ("copied", "skipped", "failed"))
    out.print(f"{verb} {len(copied)}, skipped {len(skipped)}, failed {len(failed)}")
    for o in copied:
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
        str, typer.Option("--to", help=f"Target store URL: {url_forms()}")
    ],
    archived: Annotated[
        bool, typer.Option("--archived/--no-archived", help="Also copy archived threads (they stay archived).")
    ] = True,
    thread: Annotated[
        list[str] | None, typer.Option("--thread", "-t", help="Copy only this thread (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Copy threads to another store exactly: same ids, lines, times, names and archived state.

    Threads that already exist in the target are skipped, not overwritten.
    """
    bar = ProgressBar("copying", enabled=progress_wanted(globals_of(ctx).quiet), transient=False)
    if to.strip().lower() == "memory:":
        typer.echo("note: a memory: target keeps nothing once this command exits", err=True)
    where = store_url(ctx)
    done: list[int] = []
    total: list[int] = []

    async def work(source: ThreadStore) -> CopyReport:
        target = open_for(ctx, to, writes=True)

        def on_total(count: int) -> None:
            total.append(count)
            bar.update(0, count)

        def on_outcome(outcome: CopyOutcome) -> None:
            done.append(1)
            bar.update(len(done), total[-1] if total else None, f"{outcome.status} {outcome.thread_id}")

        try:
            ids = [await resolve_thread_id(source, t, where) for t in thread] if thread else None
            return await copy_threads(
                source,
                target,
                thread_ids=ids,
                include_archived=archived,
                on_total=on_total,
                on_outcome=on_outcome,
            )
        finally:
            bar.close()
            await target.close()

    report = run_store(ctx, work)
    failed = len(report.with_status("failed"))
    if as_json:
        print_json(report.to_json())  # the result: it says which threads failed and why
        if failed:
            report_failure(CliFailure(f"{failed} thread(s) could not be copied"), as_json=False)
            raise typer.Exit(1)
    else:
        print_summary(report)
    if failed:
        raise CliFailure(f"{failed} thread(s) could not be copied", "copy_failed")
