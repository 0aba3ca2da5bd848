"""A writer identity (``writer_id``): a client that comes back under the same one after a
crash takes over the writers it left, at once, on a server and on PostgreSQL directly; anyone
else still gets ``Conflict``."""

from __future__ import annotations

import pytest

from threadstore import (
    AppendThreadItemsParams,
    Conflict,
    CreateThreadParams,
    InMemoryThreadStore,
    LoadThreadHistoryParams,
    ResumeThreadParams,
    items,
    new_thread_id,
)
from threadstore._backends.registry import open_store
from threadstore._server.app import start_server

from ..postgres_server import PostgresServer


async def _takes_over(url: str) -> None:
    # A client that created a thread, appended, and vanished without closing its writer.
    crashed = open_store(url, writer_id="mirror-a")
    thread_id = new_thread_id()
    await crashed.create_thread(CreateThreadParams(thread_id=thread_id, cwd="/w", model_provider="p"))
    await crashed.append_items(AppendThreadItemsParams(thread_id, [items.user_message("before the crash")]))
    stranger = open_store(url, writer_id="mirror-b")
    with pytest.raises(Conflict):
        await stranger.resume_thread(ResumeThreadParams(thread_id, event_persistence_mode="extended"))
    again = open_store(url, writer_id="mirror-a")
    await again.resume_thread(ResumeThreadParams(thread_id, event_persistence_mode="extended"))
    with pytest.raises(Conflict):  # the instance that holds it gets no second writer
        await again.resume_thread(ResumeThreadParams(thread_id, event_persistence_mode="extended"))
    await again.append_items(AppendThreadItemsParams(thread_id, [items.user_message("after the restart")]))
    await again.shutdown_thread(thread_id)
    history = await again.load_history(LoadThreadHistoryParams(thread_id))
    said = [item["payload"].get("message") for item in history.items if item["type"] == "event_msg"]
    assert said == ["before the crash", "after the restart"]
    await again.close()
    await stranger.close()
    await crashed.discard_thread(thread_id)  # (the test's own clean-up of the vanished client)
    await crashed.close()


async def test_through_a_server() -> None:
    running = await start_server("127.0.0.1:0", InMemoryThreadStore())
    try:
        await _takes_over(running.url)
    finally:
        await running.stop()


async def test_on_postgresql(postgres_server: PostgresServer) -> None:
    dsn = postgres_server.create_database()
    try:
        await _takes_over(dsn)
    finally:
        postgres_server.drop_database(dsn)
