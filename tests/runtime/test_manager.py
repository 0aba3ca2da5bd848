"""ThreadManager, Thread and Session end to end, on every store the runtime runs on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from tests.fixtures import MID_TURN_ROLLOUT
from threadstore import InMemoryThreadStore, ThreadStore, items
from threadstore._contract.listing import ListThreadsParams
from threadstore._contract.patch import ThreadMetadataPatch
from threadstore._contract.types import (
    AppendThreadItemsParams,
    CreateThreadParams,
    ReadThreadParams,
    ResumeThreadParams,
)
from threadstore._ids import new_thread_id
from threadstore._runtime import (
    BuiltinModel,
    Event,
    ModelClient,
    ModelError,
    ModelRequest,
    ThreadClosed,
    ThreadConfig,
    ThreadManager,
    ThreadRuntimeError,
)
from threadstore._runtime.models.base import ModelEvent
from threadstore.errors import Conflict, Internal, InvalidRequest, ThreadNotFound, Unsupported

from .conftest import StoreFactory
from .support import ScriptedStore, collect_until, kinds, read_rollout, run_turn

TURN_KINDS = [
    "event_msg:task_started",
    "turn_context",
    "response_item:message:user",
    "event_msg:user_message",
    "event_msg:agent_message",
    "response_item:message:assistant",
    "event_msg:token_count",
    "event_msg:task_complete",
]


async def history_of(store: ThreadStore, thread_id: str) -> list[dict[str, Any]]:
    thread = await store.read_thread(ReadThreadParams(thread_id, include_archived=True, include_history=True))
    assert thread.history is not None
    return thread.history.items


def user_texts(history: Sequence[dict[str, Any]]) -> list[str]:
    return [i["payload"]["message"] for i in history if items.is_event(i, "user_message")]


def request_texts(request: ModelRequest) -> list[str]:
    return [part["text"] for p in request.input for part in p.get("content", []) if "text" in part]


@pytest.fixture
def model() -> BuiltinModel:
    return BuiltinModel()


@pytest.fixture
async def manager(store: ThreadStore, model: BuiltinModel) -> AsyncIterator[ThreadManager]:
    mgr = ThreadManager(store, model=model)
    try:
        yield mgr
    finally:
        await mgr.shutdown_all(timeout=5)


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


async def test_interrupt_aborts_the_turn(store: ThreadStore, cwd: str) -> None:
    manager = ThreadManager(store, model=BuiltinModel(delay=0.2))
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
    manager.model.delay = 0.0  # type: ignore[attr-defined]
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


async def test_resume_rebuilds_model_history(
    make_store: StoreFactory, store: ThreadStore, model: BuiltinModel, cwd: str
) -> None:
    first = ThreadManager(store, model=model)
    thread = await first.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "one")
    await run_turn(thread, "two")
    await thread.submit({"type": "thread_rollback", "num_turns": 1})
    await collect_until(thread, "thread_rolled_back")
    await run_turn(thread, "three")
    await thread.shutdown()

    second = ThreadManager(make_store(), model=model)
    resumed = await second.resume_thread(thread.thread_id)
    initial = resumed.session_configured["initial_messages"]
    assert [m["message"] for m in initial if m["type"] == "user_message"] == ["one", "two", "three"]
    assert resumed.config_snapshot().cwd == cwd
    await run_turn(resumed, "four")
    assert request_texts(model.requests[-1]) == ["one", "echo: one", "three", "echo: three", "four"]
    await second.shutdown_all()
    assert user_texts(await history_of(make_store(), thread.thread_id)) == ["one", "two", "three", "four"]


async def test_resume_rejoins_a_running_thread(manager: ThreadManager, cwd: str) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "hi")
    assert await manager.resume_thread(thread.thread_id) is thread
    assert manager.get_thread(thread.thread_id) is thread
    assert manager.list_thread_ids() == [thread.thread_id]


async def test_remove_thread_releases_the_writer(
    manager: ThreadManager, make_store: StoreFactory, store: ThreadStore, cwd: str
) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "keep me")
    # While it runs, the store refuses a second live writer for the same thread.
    with pytest.raises(Conflict):
        await store.resume_thread(ResumeThreadParams(thread.thread_id, cwd=cwd))
    removed = await manager.remove_thread(thread.thread_id)
    assert removed is thread
    assert not thread.is_running
    assert manager.list_thread_ids() == []
    with pytest.raises(ThreadNotFound):
        manager.get_thread(thread.thread_id)
    assert await manager.remove_thread(thread.thread_id) is None
    # No writer leaked: the same id resumes (through this manager and through another store).
    resumed = await manager.resume_thread(thread.thread_id)
    await run_turn(resumed, "after removal")
    await manager.remove_thread(thread.thread_id)
    other = ThreadManager(make_store())
    again = await other.resume_thread(thread.thread_id)
    await run_turn(again, "elsewhere")
    await other.shutdown_all()
    assert user_texts(await history_of(make_store(), thread.thread_id)) == ["keep me", "after removal", "elsewhere"]


async def test_remove_thread_aborts_a_running_turn(store: ThreadStore, cwd: str) -> None:
    manager = ThreadManager(store, model=BuiltinModel(delay=0.3))
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await thread.submit({"type": "user_input", "items": [{"type": "text", "text": "slow"}]})
    await collect_until(thread, "user_message")
    await manager.remove_thread(thread.thread_id)
    history = await history_of(store, thread.thread_id)
    assert kinds(history)[-1] == "event_msg:turn_aborted"
    resumed = await ThreadManager(store).resume_thread(thread.thread_id)
    await resumed.shutdown()


async def test_update_thread_metadata_live_and_cold(manager: ThreadManager, store: ThreadStore, cwd: str) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "name me")
    live = await manager.update_thread_metadata(thread.thread_id, ThreadMetadataPatch(name="Live name"))
    assert live.name == "Live name"
    assert live.preview == "name me"
    await thread.shutdown()
    cold = await manager.update_thread_metadata(thread.thread_id, ThreadMetadataPatch(name="Cold name"))
    assert cold.name == "Cold name"
    assert (await store.read_thread(ReadThreadParams(thread.thread_id))).name == "Cold name"


async def test_archived_flag_is_preserved_across_resume_and_updates(
    manager: ThreadManager, store: ThreadStore, cwd: str
) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "old work")
    await thread.shutdown()
    await store.archive_thread(thread.thread_id)
    resumed = await manager.resume_thread(thread.thread_id)
    await run_turn(resumed, "more old work")
    await manager.update_thread_metadata(thread.thread_id, ThreadMetadataPatch(name="Still archived"))
    await resumed.shutdown()
    await manager.update_thread_metadata(thread.thread_id, ThreadMetadataPatch(memory_mode="disabled"))
    stored = await store.read_thread(ReadThreadParams(thread.thread_id, include_archived=True))
    assert stored.archived_at is not None
    assert stored.name == "Still archived"
    archived = await store.list_threads(ListThreadsParams(archived=True))
    assert [t.thread_id for t in archived.items] == [thread.thread_id]
    active = await store.list_threads(ListThreadsParams())
    assert thread.thread_id not in [t.thread_id for t in active.items]


async def test_fork_whole_thread(manager: ThreadManager, store: ThreadStore, cwd: str) -> None:
    source = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(source, "alpha")
    await run_turn(source, "beta")
    fork = await manager.fork_thread(source.thread_id)
    assert fork.thread_id != source.thread_id
    assert fork.session_configured["forked_from_id"] == source.thread_id
    source_history = await history_of(store, source.thread_id)
    fork_history = await history_of(store, fork.thread_id)
    assert fork_history[0]["type"] == "session_meta"
    assert fork_history[0]["payload"]["id"] == fork.thread_id
    assert fork_history[0]["payload"]["forked_from_id"] == source.thread_id
    assert fork_history[1:] == source_history
    stored = await store.read_thread(ReadThreadParams(fork.thread_id))
    assert stored.forked_from_id == source.thread_id
    assert stored.preview == "alpha"
    await run_turn(fork, "gamma")
    assert user_texts(await history_of(store, fork.thread_id)) == ["alpha", "beta", "gamma"]
    assert user_texts(await history_of(store, source.thread_id)) == ["alpha", "beta"]


async def test_fork_before_nth_user_message(
    manager: ThreadManager, store: ThreadStore, model: BuiltinModel, cwd: str
) -> None:
    source = await manager.start_thread(ThreadConfig(cwd=cwd))
    for text in ("one", "two", "three"):
        await run_turn(source, text)
    fork = await manager.fork_thread(source.thread_id, nth_user_message=1)
    fork_history = await history_of(store, fork.thread_id)
    assert user_texts(fork_history) == ["one"]
    assert kinds(fork_history[2:]) == TURN_KINDS  # one whole turn after the two session_meta lines
    await run_turn(fork, "branch")
    assert request_texts(model.requests[-1]) == ["one", "echo: one", "branch"]


async def test_fork_of_a_thread_ending_mid_turn_gets_interrupted_boundary(
    manager: ThreadManager, store: ThreadStore, cwd: str
) -> None:
    source_items = read_rollout(MID_TURN_ROLLOUT)
    source_id = source_items[0]["payload"]["id"]
    await store.create_thread(CreateThreadParams(thread_id=source_id, cwd=cwd, model_provider="openai"))
    await store.append_items(AppendThreadItemsParams(source_id, source_items[1:]))
    await store.shutdown_thread(source_id)
    fork = await manager.fork_thread(source_id)
    fork_history = await history_of(store, fork.thread_id)
    boundary = fork_history[-1]
    assert items.is_event(boundary, "turn_aborted")
    assert boundary["payload"]["turn_id"] == "019c8a70-ebe7-7e83-92b2-f77ddd49c5f9"
    assert boundary["payload"]["reason"] == "interrupted"
    assert fork_history[0]["payload"]["forked_from_id"] == source_id
    await run_turn(fork, "carry on")


async def test_ephemeral_threads_persist_nothing(manager: ThreadManager, store: ThreadStore, cwd: str) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd, ephemeral=True))
    assert thread.ephemeral
    assert thread.rollout_path is None
    assert "rollout_path" not in thread.session_configured
    assert thread.config_snapshot().ephemeral
    await run_turn(thread, "secret")
    await run_turn(thread, "again")
    with pytest.raises((ThreadNotFound, InvalidRequest)):
        await store.read_thread(ReadThreadParams(thread.thread_id))
    await thread.submit({"type": "thread_rollback", "num_turns": 1})
    (error,) = await collect_until(thread, "error")
    assert "requires persisted thread history" in error.msg["message"]
    with pytest.raises(InvalidRequest, match="ephemeral"):
        await manager.read_thread(thread.thread_id, include_history=True)
    assert (await manager.read_thread(thread.thread_id)).cwd == cwd
    with pytest.raises(InvalidRequest, match="ephemeral"):
        await manager.fork_thread(thread.thread_id)
    with pytest.raises(InvalidRequest, match="ephemeral"):
        await manager.update_thread_metadata(thread.thread_id, ThreadMetadataPatch(name="x"))
    await thread.shutdown()
    listed = await store.list_threads(ListThreadsParams())
    assert thread.thread_id not in [t.thread_id for t in listed.items]


async def test_resume_by_rollout_path_needs_a_store_with_files(cwd: str) -> None:
    manager = ThreadManager(InMemoryThreadStore())  # a store without rollout files
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "hi")
    await manager.remove_thread(thread.thread_id)
    with pytest.raises(Unsupported, match="rollout"):
        await manager.resume_thread(thread.thread_id, rollout_path="/nowhere/rollout.jsonl")
    # nothing was touched: the thread still resumes by id
    resumed = await manager.resume_thread(thread.thread_id)
    await resumed.shutdown()


async def test_resume_unknown_thread(manager: ThreadManager) -> None:
    with pytest.raises((ThreadNotFound, InvalidRequest)):
        await manager.resume_thread(new_thread_id())
    assert manager.list_thread_ids() == []


async def test_shutdown_all_reports(manager: ThreadManager, cwd: str) -> None:
    one = await manager.start_thread(ThreadConfig(cwd=cwd))
    two = await manager.start_thread(ThreadConfig(cwd=cwd, ephemeral=True))
    await run_turn(one, "x")
    report = await manager.shutdown_all(timeout=5)
    assert report.completed == sorted([one.thread_id, two.thread_id])
    assert report.all_stopped
    assert manager.list_thread_ids() == []


async def test_closing_the_op_channel_still_shuts_persistence_down(
    manager: ThreadManager, store: ThreadStore, cwd: str
) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "bye")
    await thread.close()
    assert not thread.is_running
    await store.resume_thread(ResumeThreadParams(thread.thread_id, cwd=cwd))  # no leaked writer
    await store.shutdown_thread(thread.thread_id)


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


async def test_config_snapshot(manager: ThreadManager, cwd: str) -> None:
    config = ThreadConfig(cwd=cwd, model="custom-model", model_provider="acme", base_instructions="be kind")
    thread = await manager.start_thread(config)
    snap = thread.config_snapshot()
    assert (snap.model, snap.model_provider_id, snap.cwd) == ("custom-model", "acme", cwd)
    assert snap.base_instructions == "be kind"
    assert snap.session_source == "cli"
    assert not snap.ephemeral
    await run_turn(thread, "hi")
    assert manager.model.requests[-1].instructions == "be kind"  # type: ignore[attr-defined]
    assert manager.model.requests[-1].model == "custom-model"  # type: ignore[attr-defined]


async def test_concurrent_threads_are_independent(manager: ThreadManager, store: ThreadStore, cwd: str) -> None:
    threads = [await manager.start_thread(ThreadConfig(cwd=cwd)) for _ in range(4)]
    await asyncio.gather(*(run_turn(t, f"thread {i}") for i, t in enumerate(threads)))
    for i, thread in enumerate(threads):
        assert user_texts(await history_of(store, thread.thread_id)) == [f"thread {i}"]


async def test_resume_after_shutdown_starts_a_new_session(manager: ThreadManager, cwd: str) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "hi")
    await thread.shutdown()
    assert manager.list_thread_ids() == [thread.thread_id]  # still registered, no longer running
    resumed = await manager.resume_thread(thread.thread_id)
    assert resumed is not thread
    assert resumed.is_running
    assert manager.get_thread(thread.thread_id) is resumed


async def test_resume_honours_compaction(store: ThreadStore, model: BuiltinModel, cwd: str) -> None:
    manager = ThreadManager(store, model=model)
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "one")
    await run_turn(thread, "two")
    await manager.remove_thread(thread.thread_id)
    replacement = [items.user_response_message("one")["payload"], items.assistant_message("summary")["payload"]]
    await store.resume_thread(ResumeThreadParams(thread.thread_id, cwd=cwd))
    await store.append_items(
        AppendThreadItemsParams(
            thread.thread_id, [items.compacted("summary", replacement), items.event("context_compacted")]
        )
    )
    await store.shutdown_thread(thread.thread_id)
    resumed = await manager.resume_thread(thread.thread_id)
    await run_turn(resumed, "three")
    assert request_texts(model.requests[-1]) == ["one", "summary", "three"]
    await manager.shutdown_all()


async def test_persistence_shutdown_failure_is_reported_and_never_leaks(
    cwd: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = ScriptedStore()
    manager = ThreadManager(store)
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "fragile")
    store.shutdown_failures.append(Internal("disk full"))
    with pytest.raises(ThreadRuntimeError, match="disk full"):
        await thread.shutdown()
    events = await collect_until(thread, "shutdown_complete")
    assert [e.type for e in events] == ["error", "shutdown_complete"]
    assert "Failed to shutdown thread persistence" in events[0].msg["message"]
    assert store.calls[-1] == "discard_thread"
    report = await manager.shutdown_all()
    assert report.failed == [thread.thread_id]
    # the writer was released: the thread resumes, with everything that was already durable
    resumed = await manager.resume_thread(thread.thread_id)
    await run_turn(resumed, "again")
    await manager.shutdown_all()
    assert user_texts(await history_of(store, thread.thread_id)) == ["fragile", "again"]


async def test_remove_thread_falls_back_to_discard(cwd: str) -> None:
    store = ScriptedStore()
    manager = ThreadManager(store)
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "fragile")
    store.shutdown_failures.append(Internal("disk full"))
    await manager.remove_thread(thread.thread_id)
    assert store.calls[-2:] == ["shutdown_thread", "discard_thread"]
    resumed = await manager.resume_thread(thread.thread_id)
    await resumed.shutdown()


async def test_ephemeral_resume_reads_history_but_writes_nothing(
    manager: ThreadManager, store: ThreadStore, model: BuiltinModel, cwd: str
) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "stored")
    await manager.remove_thread(thread.thread_id)
    before = await history_of(store, thread.thread_id)
    peek = await manager.resume_thread(thread.thread_id, ThreadConfig(cwd=cwd, ephemeral=True))
    assert peek.ephemeral
    await run_turn(peek, "not stored")
    assert request_texts(model.requests[-1]) == ["stored", "echo: stored", "not stored"]
    assert await history_of(store, thread.thread_id) == before


async def test_malformed_ids_are_refused(manager: ThreadManager) -> None:
    with pytest.raises(InvalidRequest):
        manager.get_thread("../../etc/passwd")
    with pytest.raises(InvalidRequest):
        await manager.resume_thread("not-a-uuid")
    with pytest.raises(InvalidRequest):
        await manager.fork_thread("nope")
