"""Ops other than user input: interrupt, rollback, memory mode, and ops a thread refuses."""

from __future__ import annotations

import pytest

from threadstore import ThreadStore, items
from threadstore._contract.types import ReadThreadParams
from threadstore._runtime import BuiltinModel, Event, ThreadConfig, ThreadManager
from threadstore.errors import InvalidRequest

from ..support import collect_until, kinds, run_turn
from .helpers import history_of, request_texts, user_texts


async def test_interrupt_aborts_the_turn(store: ThreadStore, cwd: str) -> None:
    model = BuiltinModel(delay=0.2)
    manager = ThreadManager(store, model=model)
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    sub = await thread.submit({"type": "user_input", "items": [{"type": "text", "text": "long"}]})
    await collect_until(thread, "user_message")
    await thread.submit({"type": "interrupt"})
    events = await collect_until(thread, "turn_aborted", "task_complete")
    aborted = events[-1]
    assert aborted.type == "turn_aborted"
    assert aborted.id == sub
    assert aborted.msg["reason"] == "interrupted"
    history = await history_of(store, thread.thread_id)
    assert kinds(history)[-1] == "event_msg:turn_aborted"
    assert not any(items.is_event(i, "task_complete") for i in history)
    # the thread goes on
    model.delay = 0.0
    await run_turn(thread, "next")
    await manager.shutdown_all()


async def test_rollback_appends_marker_and_drops_turns_from_model_history(
    manager: ThreadManager, store: ThreadStore, model: BuiltinModel, cwd: str
) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "first")
    await run_turn(thread, "second")
    sub = await thread.submit({"type": "thread_rollback", "num_turns": 1})
    events = await collect_until(thread, "thread_rolled_back", "error")
    assert events[-1] == Event(sub, {"type": "thread_rolled_back", "num_turns": 1})
    history = await history_of(store, thread.thread_id)
    assert items.is_event(history[-1], "thread_rolled_back")
    assert user_texts(history) == ["first", "second"]  # nothing deleted
    await run_turn(thread, "third")
    assert request_texts(model.requests[-1]) == ["first", "echo: first", "third"]


async def test_rollback_is_rejected_for_zero_turns_and_during_a_turn(store: ThreadStore, cwd: str) -> None:
    manager = ThreadManager(store, model=BuiltinModel(delay=0.2))
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await thread.submit({"type": "thread_rollback", "num_turns": 0})
    (error,) = await collect_until(thread, "error")
    assert error.msg["codex_error_info"] == "thread_rollback_failed"
    await thread.submit({"type": "user_input", "items": [{"type": "text", "text": "busy"}]})
    await collect_until(thread, "task_started")
    await thread.submit({"type": "thread_rollback", "num_turns": 1})
    events = await collect_until(thread, "error")
    assert events[-1].msg["codex_error_info"] == "thread_rollback_failed"
    assert "in progress" in events[-1].msg["message"]
    await collect_until(thread, "task_complete")
    await manager.shutdown_all()


async def test_memory_mode_op(manager: ThreadManager, store: ThreadStore, cwd: str) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "remember nothing")
    await thread.submit({"type": "set_thread_memory_mode", "mode": "disabled"})
    await thread.submit({"type": "set_thread_memory_mode", "mode": "sometimes"})
    (error,) = await collect_until(thread, "error")
    assert "memory mode" in error.msg["message"]
    assert thread.config_snapshot().memory_mode == "disabled"
    stored = await store.read_thread(ReadThreadParams(thread.thread_id))
    assert stored.memory_mode == "disabled"


async def test_bad_ops_give_error_events(manager: ThreadManager, cwd: str) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await thread.submit({"type": "user_input", "items": []})
    (error,) = await collect_until(thread, "error")
    assert error.msg["codex_error_info"] == "bad_request"
    await thread.submit({"type": "warp_drive"})
    (error,) = await collect_until(thread, "error")
    assert "unsupported op" in error.msg["message"]
    with pytest.raises(InvalidRequest):
        await thread.submit({"no": "type"})
