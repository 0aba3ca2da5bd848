"""Creates held until Codex says where a thread lives are bounded all together: past the bytes
they may hold the oldest holding items are carried out, a create holding items is carried out
once it has waited too long, and past their number a new one is refused. Nothing a client sent
is lost: a carried-out thread has its items (its cwd is empty, as a durability barrier makes it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from threadstore import InMemoryThreadStore, ReadThreadParams, ThreadNotFound, items, new_thread_id
from threadstore._server import RunningServer, start_server
from threadstore._server.limits import HeldLimits, ServerLimits
from threadstore._wire._proto import thread_store_pb2 as pb

from .raw_calls import code_of, raw_call
from .test_codex_shaped import append, codex_create, session_configured

CHUNK = "x" * (256 * 1024)


@pytest.fixture
async def store() -> InMemoryThreadStore:
    return InMemoryThreadStore()


async def _server(store: InMemoryThreadStore, held: HeldLimits) -> RunningServer:
    return await start_server("127.0.0.1:0", store, limits=ServerLimits(held=held))


@pytest.fixture
async def bounded(store: InMemoryThreadStore) -> AsyncIterator[RunningServer]:
    server = await _server(store, HeldLimits(max_bytes=2 * 1024 * 1024, max_age=3600))
    try:
        yield server
    finally:
        await server.stop(grace=1)


async def _stored(store: InMemoryThreadStore, thread_id: str) -> list[dict[str, object]] | None:
    try:
        thread = await store.read_thread(ReadThreadParams(thread_id, include_history=True))
    except ThreadNotFound:
        return None
    return thread.history.items if thread.history is not None else []


async def test_held_creates_hold_no_more_than_their_bytes(bounded: RunningServer, store: InMemoryThreadStore) -> None:
    live = bounded.service.live
    ids = [new_thread_id() for _ in range(12)]
    for thread_id in ids:
        await codex_create(bounded, thread_id)
        await append(bounded, thread_id, items.user_message(CHUNK), items.agent_message(CHUNK))  # 512 KiB
        assert live.held_bytes <= live.limits.max_bytes
    carried = [t for t in ids if not live.is_pending(t)]
    assert carried == ids[: len(carried)]  # the oldest first
    assert len(carried) >= 8
    for thread_id in carried:
        history = await _stored(store, thread_id)
        assert history is not None
        assert history[0]["payload"]["cwd"] == ""  # type: ignore[index]
        assert [i["payload"]["message"] for i in history[1:2]] == [CHUNK]  # type: ignore[index]
    # One still held learns its cwd and is created with it, as usual.
    last = ids[-1]
    assert live.is_pending(last)
    await append(bounded, last, session_configured(last, "/repo"))
    history = await _stored(store, last)
    assert history is not None
    assert history[0]["payload"]["cwd"] == "/repo"  # type: ignore[index]


async def test_a_create_holding_items_is_carried_out_when_it_waited_too_long(store: InMemoryThreadStore) -> None:
    server = await _server(store, HeldLimits(max_age=0.3))
    try:
        waiting, holding = new_thread_id(), new_thread_id()
        await codex_create(server, waiting)
        await codex_create(server, holding)
        await append(server, holding, items.user_message("said before any cwd"))
        for _ in range(100):
            if not server.service.live.is_pending(holding):
                break
            await asyncio.sleep(0.1)
        history = await _stored(store, holding)
        assert history is not None
        assert history[1]["payload"]["message"] == "said before any cwd"  # type: ignore[index]
        # A create that holds nothing costs next to nothing: it waits for its cwd as long as it takes.
        assert server.service.live.is_pending(waiting)
        await append(server, waiting, session_configured(waiting, "/later"), items.user_message("hello"))
        history = await _stored(store, waiting)
        assert history is not None
        assert history[0]["payload"]["cwd"] == "/later"  # type: ignore[index]
    finally:
        await server.stop(grace=1)


async def test_past_their_number_new_held_creates_are_refused(store: InMemoryThreadStore) -> None:
    server = await _server(store, HeldLimits(max_creates=3))
    try:
        for _ in range(3):
            await codex_create(server, new_thread_id())
        request = pb.CreateThreadRequest(thread_id=new_thread_id(), source=pb.SessionSource(kind=pb.SESSION_SOURCE_KIND_EXEC))
        refused = await raw_call(server, "CreateThread", request)
        assert code_of(refused) == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert isinstance(refused, grpc.aio.AioRpcError)
        assert "waiting for their working directory" in (refused.details() or "")
    finally:
        await server.stop(grace=1)
