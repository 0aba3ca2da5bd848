"""The ``threadstore`` command line: ``threadstore [--store URL] COMMAND``.

Every command opens the store named by ``--store`` (default ``local:$THREADSTORE_HOME`` or
``local:~/.threadstore``), does one job and closes the store. Read commands print tables for
people and, with ``--json``, JSON for programs (:mod:`threadstore.cli.jsonout`). Errors print one
line on stderr and exit with status 1 (usage errors: 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from .. import _json
from ..errors import InvalidRequest, ThreadStoreError
from ..runtime.errors import ThreadRuntimeError
from ..store.base import ThreadStore
from ..store.patch import ThreadMetadataPatch
from ..store.types import (
    ListThreadsParams,
    LoadThreadHistoryParams,
    ReadThreadParams,
    SearchThreadsParams,
    SessionSource,
    UpdateThreadMetadataParams,
)
from ..urls import default_store_url, open_store
from . import render
from .jsonout import page_to_json, search_page_to_json, thread_to_json

__all__ = ["app", "run_store"]

T = TypeVar("T")

app = typer.Typer(
    name="threadstore",
    help="Durable conversation threads: list, read, search and manage them, or serve a store over gRPC.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class CliError(Exception):
    """A failure to report as one line on stderr."""


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def store_url(ctx: typer.Context) -> str:
    obj = ctx.find_root().obj
    url = obj.get("store") if isinstance(obj, dict) else None
    return url or default_store_url()


def run_store(url: str, work: Callable[[ThreadStore], Awaitable[T]]) -> T:
    """Open ``url``, run ``work`` on it, close it; store and runtime errors become a one-line
    exit 1."""

    async def main() -> T:
        store = open_store(url)
        with _index_progress(store):
            try:
                return await work(store)
            finally:
                await store.close()

    try:
        return asyncio.run(main())
    except (ThreadStoreError, ThreadRuntimeError, CliError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{type(exc).__name__}: {exc}") from None


@contextlib.contextmanager
def _index_progress(store: ThreadStore) -> Iterator[None]:
    """A progress bar on stderr (for people only) while a local store indexes many rollouts."""
    from ..store.local import LocalThreadStore

    if not isinstance(store, LocalThreadStore) or not sys.stderr.isatty():
        yield
        return
    from rich.console import Console
    from rich.progress import Progress

    progress = Progress(console=Console(stderr=True), transient=True)
    task: list[Any] = []

    def report(done: int, total: int) -> None:
        if total < 500:
            return
        if not task:
            progress.start()
            task.append(progress.add_task("indexing rollouts", total=total))
        progress.update(task[0], completed=done, total=total)

    store.index_progress = report
    try:
        yield
    finally:
        store.index_progress = None
        if task:
            progress.stop()


def print_json(value: Any) -> None:
    sys.stdout.write(_json.dumps_str(value) + "\n")
    sys.stdout.flush()


def _source(text: str) -> SessionSource:
    """A --source value: a kind (``cli``, ``exec``, ``subagent``...) or a JSON object."""
    if text.startswith("{"):
        try:
            value = _json.loads(text)
        except ValueError as exc:
            raise InvalidRequest(f"invalid --source JSON: {exc}") from None
        if isinstance(value, dict):
            return value
        raise InvalidRequest("--source JSON must be an object")
    return text


@app.callback()
def root(
    ctx: typer.Context,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            "-s",
            help="Store URL: memory:, local:PATH, grpc://HOST:PORT, postgresql://...",
            envvar="THREADSTORE_URL",
        ),
    ] = None,
) -> None:
    ctx.obj = {"store": store}


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    archived: Annotated[bool, typer.Option("--archived", help="List archived threads instead.")] = False,
    source: Annotated[list[str] | None, typer.Option("--source", help="Only these sources (repeatable).")] = None,
    provider: Annotated[list[str] | None, typer.Option("--provider", help="Only these model providers.")] = None,
    cwd: Annotated[list[str] | None, typer.Option("--cwd", help="Only threads started in these directories.")] = None,
    search: Annotated[str | None, typer.Option("--search", help="Substring of the name or preview.")] = None,
    sort: Annotated[str, typer.Option("--sort", help="created_at or updated_at.")] = "created_at",
    ascending: Annotated[bool, typer.Option("--asc/--desc", help="Oldest first / newest first.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Page size.")] = 50,
    cursor: Annotated[str | None, typer.Option("--cursor", help="Continue after this cursor.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List threads, newest first."""

    async def work(store: ThreadStore) -> None:
        params = ListThreadsParams(
            page_size=limit,
            cursor=cursor,
            sort_key=sort,  # type: ignore[arg-type]  # validated by ListThreadsParams
            sort_direction="asc" if ascending else "desc",
            allowed_sources=[_source(s) for s in source or ()],
            model_providers=provider or None,
            cwd_filters=cwd or None,
            archived=archived,
            search_term=search,
        )
        page = await store.list_threads(params)
        if as_json:
            print_json(page_to_json(page))
        else:
            render.thread_table(page.items, page.next_cursor)

    run_store(store_url(ctx), work)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    thread_id: Annotated[str, typer.Argument(help="Thread id.")],
    history: Annotated[bool, typer.Option("--history", help="Include the items.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one thread (archived ones too)."""

    async def work(store: ThreadStore) -> None:
        thread = await store.read_thread(ReadThreadParams(thread_id, include_archived=True, include_history=history))
        if as_json:
            print_json(thread_to_json(thread))
        else:
            render.thread_details(thread)

    run_store(store_url(ctx), work)


@app.command("search")
def search_cmd(
    ctx: typer.Context,
    term: Annotated[str, typer.Argument(help="Text to look for in the messages.")],
    archived: Annotated[bool, typer.Option("--archived", help="Search archived threads instead.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Page size.")] = 50,
    cursor: Annotated[str | None, typer.Option("--cursor", help="Continue after this cursor.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Full-text search over the threads' messages."""

    async def work(store: ThreadStore) -> None:
        page = await store.search_threads(
            SearchThreadsParams(search_term=term, page_size=limit, cursor=cursor, archived=archived)
        )
        if as_json:
            print_json(search_page_to_json(page))
        else:
            render.search_table(page.items, page.next_cursor)

    run_store(store_url(ctx), work)


@app.command("rename")
def rename_cmd(
    ctx: typer.Context,
    thread_id: Annotated[str, typer.Argument(help="Thread id.")],
    name: Annotated[str, typer.Argument(help="The new name.")],
) -> None:
    """Give a thread a name."""

    async def work(store: ThreadStore) -> None:
        patch = ThreadMetadataPatch(name=name)
        await store.update_thread_metadata(UpdateThreadMetadataParams(thread_id, patch, include_archived=True))
        typer.echo(f"renamed {thread_id} to {name!r}")

    run_store(store_url(ctx), work)


@app.command("archive")
def archive_cmd(ctx: typer.Context, thread_id: Annotated[str, typer.Argument(help="Thread id.")]) -> None:
    """Move a thread to the archive."""

    async def work(store: ThreadStore) -> None:
        await store.archive_thread(thread_id)
        typer.echo(f"archived {thread_id}")

    run_store(store_url(ctx), work)


@app.command("unarchive")
def unarchive_cmd(ctx: typer.Context, thread_id: Annotated[str, typer.Argument(help="Thread id.")]) -> None:
    """Bring a thread back from the archive."""

    async def work(store: ThreadStore) -> None:
        await store.unarchive_thread(thread_id)
        typer.echo(f"unarchived {thread_id}")

    run_store(store_url(ctx), work)


@app.command("delete")
def delete_cmd(
    ctx: typer.Context,
    thread_id: Annotated[str, typer.Argument(help="Thread id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a thread and everything stored for it."""
    if not yes:
        if not sys.stdin.isatty():
            raise fail("refusing to delete without confirmation; pass --yes")
        if not typer.confirm(f"Delete thread {thread_id} permanently?"):
            raise fail("not deleted")

    async def work(store: ThreadStore) -> None:
        await store.delete_thread(thread_id)
        typer.echo(f"deleted {thread_id}")

    run_store(store_url(ctx), work)


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    thread_id: Annotated[str, typer.Argument(help="Thread id.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Write a thread's items as JSONL (one item per line)."""

    async def work(store: ThreadStore) -> int:
        history = await store.load_history(LoadThreadHistoryParams(thread_id, include_archived=True))
        data = b"".join(_json.dumps(item) + b"\n" for item in history.items)
        if output is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            output.write_bytes(data)
        return len(history.items)

    count = run_store(store_url(ctx), work)
    if output is not None:
        typer.echo(f"wrote {count} items to {output}", err=True)


@app.command("reindex")
def reindex_cmd(ctx: typer.Context) -> None:
    """Rebuild the store's index from its files (local stores)."""
    url = store_url(ctx)

    async def work(store: ThreadStore) -> Any:
        reindex = getattr(store, "reindex", None)
        if not callable(reindex):
            raise CliError(f"{url} has no index to rebuild (only local: stores have one)")
        return await reindex()

    result = run_store(url, work)
    typer.echo(f"reindexed {url}" + (f": {result}" if result is not None else ""))
