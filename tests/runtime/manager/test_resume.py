"""Resuming a thread: the model history rebuilt from the store (rollbacks and compactions
honoured), a running thread rejoined, a stopped one started again."""

from __future__ import annotations

import pytest

from threadstore import InMemoryThreadStore, ThreadStore, items
from threadstore._contract.types import AppendThreadItemsParams, ResumeThreadParams
from threadstore._ids import new_thread_id
from threadstore._runtime import BuiltinModel, ThreadConfig, ThreadManager
from threadstore.errors import InvalidRequest, ThreadNotFound, Unsupported

from ..conftest import StoreFactory
from ..support import collect_until, run_turn
from .helpers import history_of, request_texts, user_texts


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
