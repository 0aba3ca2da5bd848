"""Removing and shutting threads down: the writer is always released, even when the store fails
to shut persistence down; bad ids are refused."""

from __future__ import annotations

import pytest

from threadstore import ThreadStore
from threadstore._contract.types import ResumeThreadParams
from threadstore._runtime import BuiltinModel, ThreadConfig, ThreadManager, ThreadRuntimeError
from threadstore.errors import Conflict, Internal, InvalidRequest, ThreadNotFound

from ..conftest import StoreFactory
from ..support import ScriptedStore, collect_until, kinds, run_turn
from .helpers import history_of, user_texts


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


async def test_malformed_ids_are_refused(manager: ThreadManager) -> None:
    with pytest.raises(InvalidRequest):
        manager.get_thread("../../etc/passwd")
    with pytest.raises(InvalidRequest):
        await manager.resume_thread("not-a-uuid")
    with pytest.raises(InvalidRequest):
        await manager.fork_thread("nope")
