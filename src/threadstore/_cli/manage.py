"""Commands that change or dump one thread, and ``reindex``.

Each takes a thread id or a unique prefix of it, prints one line for people and, with ``--json``,
a result object: the thread after the change (``rename``, ``archive``, ``unarchive``),
``{"thread_id", "deleted": true}`` (``delete``), the index counts (``reindex``).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from threadstore._cli.app import app, globals_of
from threadstore._cli.errors import CliFailure
from threadstore._cli.jsonout import thread_to_json
from threadstore._cli.output import print_json
from threadstore._cli.progress import ProgressBar, progress_wanted
from threadstore._cli.resolve import resolve_thread_id
from threadstore._cli.runner import run_store, store_url
from threadstore._contract.base import ThreadStore
from threadstore._contract.features import Reindexable
from threadstore._contract.patch import ThreadMetadataPatch, UpdateThreadMetadataParams
from threadstore._contract.types import ReadThreadParams, StoredThread
from threadstore._view import labels_text, thread_title

__all__ = ["archive_cmd", "delete_cmd", "label_cmd", "reindex_cmd", "rename_cmd", "unarchive_cmd"]

ThreadId = Annotated[str, typer.Argument(help="Thread id, or its first 8 or more characters.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _done(as_json: bool, thread: StoredThread, message: str) -> None:
    if as_json:
        print_json(thread_to_json(thread))
    else:
        typer.echo(message)


@app.command("rename")
def rename_cmd(
    ctx: typer.Context,
    thread_id: ThreadId,
    name: Annotated[str, typer.Argument(help="The new name.")],
    as_json: AsJson = False,
) -> None:
    """Give a thread a name."""
    where = store_url(ctx)

    async def work(store: ThreadStore) -> StoredThread:
        resolved = await resolve_thread_id(store, thread_id, where)
        patch = ThreadMetadataPatch(name=name)
        return await store.update_thread_metadata(UpdateThreadMetadataParams(resolved, patch, include_archived=True))

    thread = run_store(ctx, work)
    _done(as_json, thread, f"renamed {thread.thread_id} to {name!r}")


@app.command("label")
def label_cmd(
    ctx: typer.Context,
    thread_id: ThreadId,
    labels: Annotated[
        list[str], typer.Argument(metavar="KEY=VALUE|KEY-...", help="Set KEY to VALUE, or remove KEY (KEY-).")
    ],
    as_json: AsJson = False,
) -> None:
    """Set or remove a thread's labels (filter on them with list --label KEY=VALUE)."""
    where = store_url(ctx)
    changes: dict[str, str | None] = {}
    for text in labels:
        key, sep, value = text.partition("=")
        if sep and key:
            changes[key] = value
        elif text.endswith("-") and len(text) > 1:
            changes[text[:-1]] = None
        else:
            raise CliFailure(f"{text!r}: write KEY=VALUE to set a label, KEY- to remove it", "usage")

    async def work(store: ThreadStore) -> StoredThread:
        resolved = await resolve_thread_id(store, thread_id, where)
        patch = ThreadMetadataPatch(labels=changes)
        return await store.update_thread_metadata(UpdateThreadMetadataParams(resolved, patch, include_archived=True))

    thread = run_store(ctx, work)
    shown = labels_text(thread.labels) or "none"
    _done(as_json, thread, f"labels of {thread.thread_id}: {shown}")


@app.command("archive")
def archive_cmd(ctx: typer.Context, thread_id: ThreadId, as_json: AsJson = False) -> None:
    """Move a thread to the archive."""
    where = store_url(ctx)

    async def work(store: ThreadStore) -> StoredThread:
        resolved = await resolve_thread_id(store, thread_id, where)
        await store.archive_thread(resolved)
        return await store.read_thread(ReadThreadParams(resolved, include_archived=True))

    thread = run_store(ctx, work)
    _done(as_json, thread, f"archived {thread.thread_id}")


@app.command("unarchive")
def unarchive_cmd(ctx: typer.Context, thread_id: ThreadId, as_json: AsJson = False) -> None:
    """Bring a thread back from the archive."""
    where = store_url(ctx)

    async def work(store: ThreadStore) -> StoredThread:
        return await store.unarchive_thread(await resolve_thread_id(store, thread_id, where))

    thread = run_store(ctx, work)
    _done(as_json, thread, f"unarchived {thread.thread_id}")


@app.command("delete")
def delete_cmd(
    ctx: typer.Context,
    thread_id: ThreadId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: AsJson = False,
) -> None:
    """Delete a thread and everything stored for it."""
    where = store_url(ctx)

    async def find(store: ThreadStore) -> StoredThread:
        resolved = await resolve_thread_id(store, thread_id, where)
        return await store.read_thread(ReadThreadParams(resolved, include_archived=True))

    thread = run_store(ctx, find)
    if not yes:
        if not sys.stdin.isatty():
            raise CliFailure(f"not deleting {thread.thread_id} without confirmation: pass --yes", "not_confirmed")
        if not typer.confirm(f"Delete thread {thread.thread_id} ({thread_title(thread)}) permanently?"):
            raise CliFailure("not deleted", "not_confirmed")

    async def delete(store: ThreadStore) -> None:
        await store.delete_thread(thread.thread_id)

    run_store(ctx, delete)
    if as_json:
        print_json({"thread_id": thread.thread_id, "deleted": True})
    else:
        typer.echo(f"deleted {thread.thread_id}")


@app.command("reindex")
def reindex_cmd(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Rebuild a local store's index from its files (a progress bar on a terminal)."""
    url = store_url(ctx)
    bar = ProgressBar("reading rollouts", enabled=progress_wanted(globals_of(ctx).quiet))

    async def work(store: ThreadStore) -> Any:
        if not isinstance(store, Reindexable):
            raise CliFailure(f"{url} has no index to rebuild (only local: stores have one)", "unsupported")
        try:
            return await store.reindex(bar.update)
        finally:
            bar.close()

    report = run_store(ctx, work)
    counts = {
        "threads": report.threads,
        "skipped_lines": report.skipped_lines,
        "unreadable_files": report.unreadable_files,
    }
    if as_json:
        print_json({"store": url, **counts})
        return
    extra = [f"{n} {what}" for what, n in (("unreadable files", report.unreadable_files),) if n]
    extra += [f"{report.skipped_lines} torn or corrupt lines skipped"] if report.skipped_lines else []
    typer.echo(f"reindexed {url}: {report.threads} threads" + (f" ({', '.join(extra)})" if extra else ""))
