"""``threadstore export`` and ``threadstore import``: threads out of a store into files, and back.

Formats (:mod:`threadstore._transfer.record` says what each carries):

* ``jsonl`` (the default): a rollout, each line byte for byte as stored, which Codex reads and
  ``import`` puts back exactly. Several threads (``--all`` or several ids) go into a directory
  laid out as a Codex home (``sessions/``, ``archived_sessions/``, ``session_index.jsonl``),
  which keeps names and archived state too;
* ``json``: one thread JSON per thread (``{"format", "thread", "lines"}``), everything included;
* ``markdown``: a transcript for people (not importable).

One thread goes to stdout unless ``--output`` names a file; several go into the ``--output``
directory, with a progress bar on a terminal. ``import`` takes rollout files (``.jsonl``,
``.jsonl.zst``), thread JSON files, Codex homes (directories) and ``-`` (standard input), and
reports like ``copy``: threads already in the store are skipped, the exit status is 1 when any
failed.
"""

from __future__ import annotations

import shutil
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from threadstore import _json
from threadstore._backends.registry import open_store
from threadstore._cli.app import app, globals_of
from threadstore._cli.copy import print_summary
from threadstore._cli.errors import CliFailure
from threadstore._cli.output import print_json, report_failure
from threadstore._cli.progress import ProgressBar, progress_wanted
from threadstore._cli.resolve import resolve_thread_id
from threadstore._cli.runner import run_store, store_url
from threadstore._contract.base import ThreadStore
from threadstore._contract.types import LoadThreadHistoryParams
from threadstore._transfer.copy import source_thread_ids
from threadstore._view import markdown, transcript
from threadstore.errors import InvalidRequest, ThreadStoreError
from threadstore.transfer import (
    RECORD_FORMAT,
    CopyOutcome,
    CopyReport,
    ThreadRecord,
    copy_threads,
    read_record,
    record_from_bytes,
    record_from_file,
    record_from_json,
    record_to_json,
    rollout_bytes,
    write_record,
)

__all__ = ["export_cmd", "import_cmd"]


class Format(StrEnum):
    jsonl = "jsonl"
    json = "json"
    markdown = "markdown"


_SUFFIX = {Format.jsonl: ".jsonl", Format.json: ".json", Format.markdown: ".md"}


async def _render(store: ThreadStore, record: ThreadRecord, fmt: Format) -> bytes:
    if fmt is Format.jsonl:
        return rollout_bytes(record)
    if fmt is Format.json:
        return _json.dumps(record_to_json(record)) + b"\n"
    history = await store.load_history(LoadThreadHistoryParams(record.thread_id, include_archived=True))
    return markdown(record.thread, transcript(history.items)).encode()


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise CliFailure(f"cannot write {path}: {exc.strerror or exc}", "os_error") from None


def _prepare_directory(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise CliFailure(f"--output {output} is a file; several threads need a directory", "usage")
    if output.is_dir() and any(output.iterdir()):
        raise CliFailure(f"--output {output} is not empty; export into a new or empty directory", "usage")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliFailure(f"cannot create {output}: {exc.strerror or exc}", "os_error") from None


async def _export_home(store: ThreadStore, ids: list[str], output: Path, bar: ProgressBar) -> CopyReport:
    """The threads as a Codex home at ``output`` (a local store's files, without its index)."""
    done: list[CopyOutcome] = []

    def seen(outcome: CopyOutcome) -> None:
        done.append(outcome)
        bar.update(len(done), len(ids), f"{outcome.status} {outcome.thread_id}")

    target = open_store(f"local:{output}")
    try:
        return await copy_threads(store, target, thread_ids=ids, on_outcome=seen)
    finally:
        await target.close()
        shutil.rmtree(output / ".threadstore", ignore_errors=True)  # our index: not part of the export


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    thread_ids: Annotated[
        list[str] | None, typer.Argument(help="Thread ids (or their first 8 or more characters).", show_default=False)
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Export every thread (archived ones too).")] = False,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="jsonl (a rollout Codex reads), json (everything) or markdown.")
    ] = Format.jsonl,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="A file (one thread) or a directory (several); default stdout."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Write threads out: a rollout (default), a thread JSON or a Markdown transcript."""
    if not thread_ids and not every:
        raise CliFailure("name the threads to export, or pass --all", "usage")
    if as_json and output is None and fmt is Format.jsonl:
        fmt = Format.json  # JSON on stdout, as --json promises: the thread JSON
    where = store_url(ctx)
    bar = ProgressBar("exporting", enabled=progress_wanted(globals_of(ctx).quiet), threshold=2)

    async def work(store: ThreadStore) -> tuple[list[str], CopyReport | None, bytes | None]:
        if every:
            ids = await source_thread_ids(store)
        else:
            ids = [await resolve_thread_id(store, text, where) for text in dict.fromkeys(thread_ids or [])]
        single = len(ids) == 1 and not every
        if single and (output is None or not output.is_dir()):
            record = await read_record(store, ids[0])
            return ids, None, await _render(store, record, fmt)
        if output is None:
            raise CliFailure("several threads need --output DIRECTORY", "usage")
        _prepare_directory(output)
        try:
            if fmt is Format.jsonl:
                return ids, await _export_home(store, ids, output, bar), None
            outcomes: list[CopyOutcome] = []
            for index, thread_id in enumerate(ids):
                record = await read_record(store, thread_id)
                _write(output / f"{thread_id}{_SUFFIX[fmt]}", await _render(store, record, fmt))
                outcomes.append(CopyOutcome(thread_id, "copied", lines=len(record.lines)))
                bar.update(index + 1, len(ids), thread_id)
            return ids, CopyReport(outcomes), None
        finally:
            bar.close()

    ids, report, data = run_store(ctx, work)
    if data is not None:
        if output is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
            return
        _write(output, data)
        if as_json:
            print_json({"threads": 1, "format": fmt.value, "output": str(output)})
        else:
            typer.echo(f"exported {ids[0]} to {output}", err=True)
        return
    assert report is not None
    assert output is not None
    failed = report.with_status("failed")
    if as_json:
        print_json({"format": fmt.value, "output": str(output), **report.to_json()})
    else:
        typer.echo(f"exported {len(report.with_status('copied'))} thread(s) to {output}", err=True)
        for o in failed:
            typer.echo(f"failed {o.thread_id}: {o.reason}", err=True)
    if failed:
        raise CliFailure(f"{len(failed)} thread(s) could not be exported", "export_failed")


def _records(path_text: str) -> list[ThreadRecord] | Path:
    """The records of one import argument, or the directory of a Codex home."""
    if path_text == "-":
        data = sys.stdin.buffer.read()
        try:
            whole = _json.loads(data)  # a thread JSON is one object; a rollout of several lines is not JSON
        except ValueError:
            whole = None
        if isinstance(whole, dict) and whole.get("format") == RECORD_FORMAT:
            return [record_from_json(whole)]
        return [record_from_bytes(data, origin="standard input")]
    path = Path(path_text).expanduser()
    if path.is_dir():
        return path
    if not path.exists():
        raise InvalidRequest(f"no such file: {path}")
    return [record_from_file(path)]


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    paths: Annotated[
        list[str],
        typer.Argument(help="Rollouts (.jsonl, .jsonl.zst), thread JSON files, Codex homes, or - for stdin."),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Put exported threads (or a Codex home's) into the store, exactly as they were."""
    bar = ProgressBar("importing", enabled=progress_wanted(globals_of(ctx).quiet), transient=False, threshold=2)

    async def work(store: ThreadStore) -> CopyReport:
        outcomes: list[CopyOutcome] = []

        def seen(outcome: CopyOutcome) -> None:
            outcomes.append(outcome)
            bar.update(len(outcomes), None, f"{outcome.status} {outcome.thread_id}")

        try:
            for text in paths:
                try:
                    found = _records(text)
                except (InvalidRequest, ThreadStoreError) as exc:
                    seen(CopyOutcome(text, "failed", str(exc)))
                    continue
                if isinstance(found, Path):
                    async with open_store(f"local:{found}") as home:
                        await copy_threads(home, store, on_outcome=seen)
                    continue
                for record in found:
                    seen(await write_record(store, record))
        finally:
            bar.close()
        return CopyReport(outcomes)

    report = run_store(ctx, work, writes=True)
    failed = len(report.with_status("failed"))
    if as_json:
        print_json(report.to_json())
        if failed:
            report_failure(CliFailure(f"{failed} thread(s) could not be imported"), as_json=False)
            raise typer.Exit(1)
    else:
        print_summary(report, "imported")
    if failed:
        raise CliFailure(f"{failed} thread(s) could not be imported", "import_failed")
