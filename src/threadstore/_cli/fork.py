"""``threadstore fork ID [--at N]``: start a new thread from a copy of another one's history."""

from __future__ import annotations

from typing import Annotated

import typer

from threadstore._cli.app import app
from threadstore._cli.errors import CliFailure
from threadstore._cli.jsonout import thread_to_json
from threadstore._cli.output import print_json
from threadstore._cli.resolve import resolve_thread_id
from threadstore._cli.runner import run_store, store_url
from threadstore._contract.base import ThreadStore
from threadstore._contract.types import LoadThreadHistoryParams, ReadThreadParams, StoredThread
from threadstore._runtime.history import user_turn_positions
from threadstore._runtime.manager import ThreadManager

__all__ = ["check_cut", "fork_cmd", "fork_thread"]

SHUTDOWN_TIMEOUT = 30.0


async def check_cut(store: ThreadStore, thread_id: str, nth_user_message: int) -> None:
    """Raise a failure unless the thread has a user message number ``nth_user_message``
    (0-based; rolled-back turns do not count)."""
    history = await store.load_history(LoadThreadHistoryParams(thread_id, include_archived=True))
    count = len(user_turn_positions(history.items))
    if nth_user_message == 0:
        raise CliFailure(
            "--at 0 cuts before the first user message: the fork would hold no conversation, and a "
            "thread without a user message is not listed (use --at 1 or more, or leave --at out)",
            "usage",
        )
    if nth_user_message >= count:
        accepted = f"--at takes 1 to {count - 1}" if count > 1 else "it cannot be cut"
        raise CliFailure(
            f"--at {nth_user_message} is beyond thread {thread_id}: it has {count} user "
            f"message{'s' if count != 1 else ''}, so {accepted} (leave --at out to fork the whole thread)",
            "usage",
        )


async def fork_thread(store: ThreadStore, thread_id: str, nth_user_message: int | None = None) -> StoredThread:
    """Fork ``thread_id`` through :meth:`ThreadManager.fork_thread` (the whole thread, or the
    part before its ``nth_user_message``-th user message, 0-based; a source that ends mid-turn
    gets an interrupted boundary), shut the new thread down so everything it copied is durable,
    and return it as stored. Raises :class:`CliFailure` if the new thread did not shut down
    cleanly."""
    manager = ThreadManager(store)
    try:
        thread = await manager.fork_thread(thread_id, nth_user_message=nth_user_message)
    finally:
        report = await manager.shutdown_all(timeout=SHUTDOWN_TIMEOUT)
    if not report.all_stopped:
        raise CliFailure(f"the fork {thread.thread_id} did not shut down cleanly")
    return await store.read_thread(ReadThreadParams(thread.thread_id, include_archived=True))


@app.command("fork")
def fork_cmd(
    ctx: typer.Context,
    thread_id: Annotated[str, typer.Argument(help="Thread to fork (its id, or its first 8 or more characters).")],
    at: Annotated[
        int | None,
        typer.Option("--at", min=0, help="Cut before the N-th user message (0-based); default: the whole thread."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the new thread as JSON.")] = False,
) -> None:
    """Fork a thread: a new thread (new id, forked_from_id = ID) with a copy of its history.

    Prints the new thread's id (or, with --json, the new thread).
    """
    where = store_url(ctx)

    async def work(store: ThreadStore) -> StoredThread:
        resolved = await resolve_thread_id(store, thread_id, where)
        if at is not None:
            await check_cut(store, resolved, at)
        return await fork_thread(store, resolved, at)

    forked = run_store(ctx, work)
    if as_json:
        print_json(thread_to_json(forked))
    else:
        typer.echo(forked.thread_id)
