"""A turn end to end: its events, what is persisted and what is not, turns queued and run side by
side, a model that fails, the configuration a thread runs with."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from threadstore import ThreadStore, items
from threadstore._contract.types import AppendThreadItemsParams, ReadThreadParams
from threadstore._runtime import (
    BuiltinModel,
    ModelClient,
    ModelError,
    ModelRequest,
    ThreadClosed,
    ThreadConfig,
    ThreadManager,
)
from threadstore._runtime.models.base import ModelEvent
from threadstore.errors import InvalidRequest, ThreadNotFound

from ..support import collect_until, kinds, run_turn
from .helpers import TURN_KINDS, history_of, user_texts


async def test_turn_events_and_persisted_items(manager: ThreadManager, store: ThreadStore, cwd: str) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    configured = thread.session_configured
    assert configured["type"] == "session_configured"
    assert configured["session_id"] == thread.thread_id
    assert configured["model"] == "threadstore-echo"
    assert configured["model_provider_id"] == "builtin"
    events = await run_turn(thread, "hello")
    assert [e.type for e in events] == [
        "task_started",
        "user_message",
        "agent_message_delta",
        "agent_message_delta",
        "agent_message_delta",
        "agent_message",
        "token_count",
        "task_complete",
    ]
    turn_id = events[0].msg["turn_id"]
    assert events[-1].msg["turn_id"] == turn_id
    assert events[-1].msg["last_agent_message"] == "echo: hello"
    history = await history_of(store, thread.thread_id)
    assert kinds(history) == ["session_meta", *TURN_KINDS]
    assert history[0]["payload"]["id"] == thread.thread_id
    stored = await store.read_thread(ReadThreadParams(thread.thread_id))
    assert stored.preview == "hello"
    assert stored.first_user_message == "hello"
    assert stored.model == "threadstore-echo"
    assert stored.cwd == cwd
    assert stored.token_usage is not None
    assert stored.token_usage.total_tokens > 0
    # a second turn accumulates token usage
    await run_turn(thread, "again")
    history = await history_of(store, thread.thread_id)
    counts = [
        i["payload"]["info"]["total_token_usage"]["total_tokens"] for i in history if items.is_event(i, "token_count")
    ]
    assert counts[1] > counts[0]


async def test_shutdown_complete_is_delivered_never_persisted_and_no_error(
    manager: ThreadManager, store: ThreadStore, cwd: str, caplog: pytest.LogCaptureFixture
) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "hi")
    before = await history_of(store, thread.thread_id)
    with caplog.at_level(logging.WARNING, logger="threadstore"):
        await thread.shutdown()
        events = await collect_until(thread, "shutdown_complete")
    assert [e.type for e in events] == ["shutdown_complete"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert await history_of(store, thread.thread_id) == before
    with pytest.raises(ThreadClosed):
        await thread.next_event()
    with pytest.raises(ThreadClosed):
        await thread.submit({"type": "user_input", "items": [{"type": "text", "text": "late"}]})
    # the writer is closed: only never-persisted items may still be appended
    await store.append_items(AppendThreadItemsParams(thread.thread_id, [items.event("shutdown_complete")]))
    with pytest.raises(ThreadNotFound):
        await store.append_items(AppendThreadItemsParams(thread.thread_id, [items.agent_message("x")]))


async def test_session_configured_is_first_and_not_persisted(
    manager: ThreadManager, store: ThreadStore, cwd: str
) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "hi")
    history = await history_of(store, thread.thread_id)
    assert not any(items.is_event(i, "session_configured") for i in history)
    assert not any(items.is_event(i, "agent_message_delta") for i in history)


async def test_thread_without_input_leaves_no_trace(manager: ThreadManager, store: ThreadStore, cwd: str) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await thread.shutdown()
    with pytest.raises((ThreadNotFound, InvalidRequest)):
        await store.read_thread(ReadThreadParams(thread.thread_id))


async def test_queued_input_runs_after_the_current_turn(store: ThreadStore, cwd: str) -> None:
    manager = ThreadManager(store, model=BuiltinModel(delay=0.02))
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    first = await thread.submit({"type": "user_input", "items": [{"type": "text", "text": "a"}]})
    second = await thread.submit({"type": "user_input", "items": [{"type": "text", "text": "b"}]})
    assert int(second) == int(first) + 1
    events = await collect_until(thread, "task_complete")
    events += await collect_until(thread, "task_complete")
    completes = [e for e in events if e.type == "task_complete"]
    assert [(e.id, e.msg["last_agent_message"]) for e in completes] == [(first, "echo: a"), (second, "echo: b")]
    await manager.shutdown_all()


async def test_concurrent_threads_are_independent(manager: ThreadManager, store: ThreadStore, cwd: str) -> None:
    threads = [await manager.start_thread(ThreadConfig(cwd=cwd)) for _ in range(4)]
    await asyncio.gather(*(run_turn(t, f"thread {i}") for i, t in enumerate(threads)))
    for i, thread in enumerate(threads):
        assert user_texts(await history_of(store, thread.thread_id)) == [f"thread {i}"]


class FailingModel(ModelClient):
    provider_id = "failing"
    default_model = "broken"

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        raise ModelError("upstream unavailable", kind="server_overloaded")
        yield  # pragma: no cover


async def test_model_failure_ends_the_turn_with_an_error(store: ThreadStore, cwd: str) -> None:
    manager = ThreadManager(store, model=FailingModel())
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    events = await run_turn(thread, "try")
    assert [e.type for e in events][-2:] == ["error", "task_complete"]
    assert events[-2].msg["codex_error_info"] == "server_overloaded"
    assert events[-1].msg["last_agent_message"] is None
    await manager.shutdown_all()


async def test_config_snapshot(manager: ThreadManager, model: BuiltinModel, cwd: str) -> None:
    config = ThreadConfig(cwd=cwd, model="custom-model", model_provider="acme", base_instructions="be kind")
    thread = await manager.start_thread(config)
    snap = thread.config_snapshot()
    assert (snap.model, snap.model_provider_id, snap.cwd) == ("custom-model", "acme", cwd)
    assert snap.base_instructions == "be kind"
    assert snap.session_source == "cli"
    assert not snap.ephemeral
    await run_turn(thread, "hi")
    assert model.requests[-1].instructions == "be kind"
    assert model.requests[-1].model == "custom-model"
