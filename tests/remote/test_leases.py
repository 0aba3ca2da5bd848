"""Idle writer leases: a quiet client keeps its thread; a vanished one does not block others."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

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
from threadstore._backends.remote import RemoteThreadStore
from threadstore._server.app import RunningServer, start_server

TIMEOUT = 30.0


class FakeClock:
    """Time that passes only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    running = await start_server("127.0.0.1:0", InMemoryThreadStore(), idle_writer_timeout=TIMEOUT)
    await running.service.leases.stop()  # no background reaper: the tests release idle writers
    running.service.leases.clock = FakeClock()
    try:
        yield running
    finally:
        await running.stop(0)


async def _client(server: RunningServer) -> RemoteThreadStore:
    return RemoteThreadStore(f"grpc://{server.address}")


async def _history(client: RemoteThreadStore, thread_id: str) -> list[str]:
    history = await client.load_history(LoadThreadHistoryParams(thread_id))
    return [i["payload"]["message"] for i in history.items if items.is_event(i, "agent_message")]


async def _wait_released(server: RunningServer, thread_id: str) -> None:
    """Let the thread's writer sit idle past the timeout, then run the reaper once."""
    leases = server.service.leases
    assert thread_id not in await leases.release_idle()  # not idle yet
    clock = leases.clock
    assert isinstance(clock, FakeClock)
    clock.now += TIMEOUT + 1
    assert thread_id in await leases.release_idle()


async def test_a_quiet_client_transparently_gets_its_writer_back(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = await _client(server)
    try:
        tid = new_thread_id()
        await client.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
        await client.append_items(AppendThreadItemsParams(tid, [items.user_message("hi"), items.agent_message("one")]))
        with caplog.at_level(logging.INFO, logger="threadstore.server"):
            await _wait_released(server, tid)
            await client.append_items(AppendThreadItemsParams(tid, [items.agent_message("two")]))
        assert "re-acquired" in caplog.text
        await client.flush_thread(tid)
        await client.shutdown_thread(tid)
        assert await _history(client, tid) == ["one", "two"]
    finally:
        await client.close()


async def test_a_vanished_client_does_not_block_the_thread(server: RunningServer) -> None:
    first, second = await _client(server), await _client(server)
    try:
        tid = new_thread_id()
        await first.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
        await first.append_items(AppendThreadItemsParams(tid, [items.user_message("hi"), items.agent_message("one")]))
        with pytest.raises(Conflict):
            await second.resume_thread(ResumeThreadParams(tid))
        await _wait_released(server, tid)  # the first client went quiet (or crashed)
        await second.resume_thread(ResumeThreadParams(tid))
        await second.append_items(AppendThreadItemsParams(tid, [items.agent_message("from second")]))
        # The first client coming back now meets the new writer, as any second writer would.
        with pytest.raises(Conflict):
            await first.append_items(AppendThreadItemsParams(tid, [items.agent_message("late")]))
        await second.shutdown_thread(tid)
        assert await _history(second, tid) == ["one", "from second"]
    finally:
        await first.close()
        await second.close()


async def test_shutdown_of_a_released_writer_succeeds(server: RunningServer) -> None:
    client = await _client(server)
    try:
        tid = new_thread_id()
        await client.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
        await client.append_items(AppendThreadItemsParams(tid, [items.user_message("hi")]))
        await _wait_released(server, tid)
        await client.shutdown_thread(tid)  # succeeds although the writer was already closed
        assert tid not in server.service.leases._released
        # A fresh resume works: nothing holds the thread.
        await client.resume_thread(ResumeThreadParams(tid))
        await client.shutdown_thread(tid)
    finally:
        await client.close()


async def test_live_calls_from_another_client_are_refused(server: RunningServer) -> None:
    owner, other = await _client(server), await _client(server)
    try:
        tid = new_thread_id()
        await owner.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
        await owner.append_items(AppendThreadItemsParams(tid, [items.user_message("hi"), items.agent_message("one")]))
        intrusions: list[Callable[[], Awaitable[None]]] = [
            lambda: other.append_items(AppendThreadItemsParams(tid, [items.agent_message("intruder")])),
            lambda: other.flush_thread(tid),
            lambda: other.shutdown_thread(tid),
            lambda: other.discard_thread(tid),
        ]
        for call in intrusions:
            with pytest.raises(Conflict):
                await call()
        await owner.append_items(AppendThreadItemsParams(tid, [items.agent_message("two")]))
        await owner.shutdown_thread(tid)
        assert await _history(owner, tid) == ["one", "two"]
    finally:
        await owner.close()
        await other.close()
