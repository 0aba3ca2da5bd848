"""Threads created the way real Codex clients create them: an empty ``metadata_json``, raw
appends (never-persisted events included), the cwd learned from the items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest

from threadstore import InMemoryThreadStore, ReadThreadParams, ThreadNotFound, _json, items, new_thread_id
from threadstore._backends.local import LocalThreadStore
from threadstore._server import RunningServer, start_server
from threadstore._wire._proto import thread_store_pb2 as pb

from .raw_calls import code_of, raw_call

NEVER_PERSISTED = [
    items.event("warning", message="model metadata not found"),
    items.event("raw_response_item", item={"type": "message", "role": "user", "content": []}),
    items.event("item_started", item={"type": "UserMessage"}),
    items.event("agent_message_delta", delta="ec"),
    items.event("agent_message_content_delta", delta="ho"),
]


def session_configured(thread_id: str, cwd: str, provider: str = "fake") -> dict[str, Any]:
    return items.event(
        "session_configured", session_id=thread_id, model="gpt-fake", model_provider_id=provider, cwd=cwd
    )


async def codex_create(server: RunningServer, thread_id: str) -> None:
    request = pb.CreateThreadRequest(
        thread_id=thread_id,
        source=pb.SessionSource(kind=pb.SESSION_SOURCE_KIND_EXEC),
        base_instructions_json=_json.dumps_str({"text": "You are a coding agent."}),
        event_persistence_mode=pb.THREAD_EVENT_PERSISTENCE_MODE_LIMITED,
    )
    assert code_of(await raw_call(server, "CreateThread", request)) == grpc.StatusCode.OK


async def append(server: RunningServer, thread_id: str, *batch: dict[str, Any]) -> None:
    request = pb.AppendThreadItemsRequest(thread_id=thread_id, items_json=[_json.dumps_str(i) for i in batch])
    assert code_of(await raw_call(server, "AppendItems", request)) == grpc.StatusCode.OK


async def call(server: RunningServer, name: str, thread_id: str) -> grpc.StatusCode:
    return code_of(await raw_call(server, name, pb.ThreadIdRequest(thread_id=thread_id)))


async def test_first_turn_context_supplies_the_cwd(server: RunningServer, backing_store: InMemoryThreadStore) -> None:
    tid = new_thread_id()
    await codex_create(server, tid)
    # Persisted items that arrive before the cwd is known are held, in order.
    await append(server, tid, items.task_started("turn-1"))
    await append(
        server, tid, items.user_response_message("<environment_context>\n  <cwd>/repo</cwd>\n</environment_context>")
    )
    for event in NEVER_PERSISTED:
        await append(server, tid, event)
    await append(server, tid, items.turn_context(cwd="/repo", model="gpt-fake", turn_id="turn-1"))
    assert await call(server, "PersistThread", tid) == grpc.StatusCode.OK
    await append(server, tid, items.user_response_message("hello"), items.user_message("hello"))
    await append(server, tid, items.agent_message("echo: hello"), items.assistant_message("echo: hello"))
    await append(server, tid, items.task_complete("turn-1", "echo: hello"))
    assert await call(server, "PersistThread", tid) == grpc.StatusCode.OK
    assert await call(server, "FlushThread", tid) == grpc.StatusCode.OK

    stored = await backing_store.read_thread(ReadThreadParams(tid, include_history=True))
    assert stored.history is not None
    history = stored.history.items
    meta = history[0]
    assert meta["type"] == "session_meta"
    assert meta["payload"]["id"] == tid
    assert meta["payload"]["cwd"] == "/repo"
    assert meta["payload"]["source"] == "exec"
    assert meta["payload"]["base_instructions"] == {"text": "You are a coding agent."}
    kinds = [(i["type"], i["payload"].get("type")) for i in history[1:]]
    assert kinds == [
        ("event_msg", "task_started"),
        ("response_item", "message"),
        ("turn_context", None),
        ("response_item", "message"),
        ("event_msg", "user_message"),
        ("event_msg", "agent_message"),
        ("response_item", "message"),
        ("event_msg", "task_complete"),
    ]
    assert (stored.cwd, stored.preview, stored.model, stored.source) == ("/repo", "hello", "gpt-fake", "exec")

    # What Codex 0.128 does next: read with history, then shut down.
    result = await raw_call(server, "ReadThread", pb.ReadThreadRequest(thread_id=tid, include_history=True))
    assert isinstance(result, pb.StoredThreadResponse)
    assert result.thread.cwd == "/repo"
    assert result.thread.rollout_path == f"threadstore://{tid}"
    assert len(result.thread.history.items_json) == len(history)
    assert await call(server, "ShutdownThread", tid) == grpc.StatusCode.OK
    # shutdown_complete after shutdown is harmless (never persisted, no writer needed).
    await append(server, tid, items.event("shutdown_complete"))


async def test_session_configured_supplies_cwd_and_provider(
    server: RunningServer, backing_store: InMemoryThreadStore
) -> None:
    tid = new_thread_id()
    await codex_create(server, tid)
    await append(server, tid, session_configured(tid, "/from/session", provider="fake"))
    await append(server, tid, items.user_message("hi"))
    stored = await backing_store.read_thread(ReadThreadParams(tid, include_history=True))
    assert (stored.cwd, stored.model_provider) == ("/from/session", "fake")
    assert stored.history is not None
    assert [i["type"] for i in stored.history.items] == ["session_meta", "event_msg"]


async def test_a_pending_thread_without_items_leaves_no_trace(
    server: RunningServer, backing_store: InMemoryThreadStore
) -> None:
    tid = new_thread_id()
    await codex_create(server, tid)
    for event in NEVER_PERSISTED:
        await append(server, tid, event)
    assert await call(server, "FlushThread", tid) == grpc.StatusCode.OK
    assert await call(server, "ShutdownThread", tid) == grpc.StatusCode.OK
    with pytest.raises(ThreadNotFound):
        await backing_store.read_thread(ReadThreadParams(tid))
    assert await call(server, "FlushThread", tid) == grpc.StatusCode.NOT_FOUND


async def test_discard_drops_a_pending_thread(server: RunningServer, backing_store: InMemoryThreadStore) -> None:
    tid = new_thread_id()
    await codex_create(server, tid)
    await append(server, tid, items.user_message("buffered only"))
    assert await call(server, "DiscardThread", tid) == grpc.StatusCode.OK
    assert await call(server, "DiscardThread", tid) == grpc.StatusCode.OK
    with pytest.raises(ThreadNotFound):
        await backing_store.read_thread(ReadThreadParams(tid))
    await codex_create(server, tid)  # the id is free again


async def test_a_barrier_before_the_cwd_is_known_keeps_the_items(
    server: RunningServer, backing_store: InMemoryThreadStore
) -> None:
    tid = new_thread_id()
    await codex_create(server, tid)
    await append(server, tid, items.user_message("early"))
    assert await call(server, "FlushThread", tid) == grpc.StatusCode.OK
    stored = await backing_store.read_thread(ReadThreadParams(tid))
    assert (stored.preview, stored.cwd) == ("early", "")


async def test_a_second_create_of_a_pending_or_stored_id_conflicts(server: RunningServer) -> None:
    tid = new_thread_id()
    await codex_create(server, tid)
    again = pb.CreateThreadRequest(thread_id=tid)
    assert code_of(await raw_call(server, "CreateThread", again)) == grpc.StatusCode.ALREADY_EXISTS
    await append(server, tid, items.turn_context(cwd="/w", model="m"), items.user_message("x"))
    assert await call(server, "ShutdownThread", tid) == grpc.StatusCode.OK
    assert code_of(await raw_call(server, "CreateThread", again)) == grpc.StatusCode.ALREADY_EXISTS


async def test_server_stop_flushes_pending_threads_with_items(tmp_path: Path) -> None:
    running = await start_server("127.0.0.1:0", LocalThreadStore(tmp_path / "home"))
    tid = new_thread_id()
    await codex_create(running, tid)
    await append(running, tid, items.user_message("held"))
    await running.stop(grace=1)
    async with LocalThreadStore(tmp_path / "home") as reopened:
        assert (await reopened.read_thread(ReadThreadParams(tid))).preview == "held"
