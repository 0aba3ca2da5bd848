"""LiveThread: asynchronous metadata worker, barriers, lifecycle (codex-thread-store §3.1, §3.3,
tests 1-7 of §6.1), and LiveThreadInitGuard."""

from __future__ import annotations

import asyncio

import pytest

from threadstore import items
from threadstore.errors import Conflict, Internal, ThreadNotFound
from threadstore.ids import new_thread_id
from threadstore.runtime import LiveThread, LiveThreadInitGuard
from threadstore.store.patch import ThreadMetadataPatch
from threadstore.store.types import CreateThreadParams, ReadThreadParams, ResumeThreadParams

from .support import ScriptedStore


def _params(thread_id: str | None = None) -> CreateThreadParams:
    return CreateThreadParams(thread_id=thread_id or new_thread_id(), cwd="/repo", model_provider="test")


def _turn(text: str) -> list[dict[str, object]]:
    return [items.user_response_message(text), items.user_message(text)]


async def _created(store: ScriptedStore) -> LiveThread:
    return await LiveThread.create(store, _params())


async def test_append_returns_after_history_acceptance_while_metadata_is_blocked() -> None:
    store = ScriptedStore()
    live = await _created(store)
    store.hold_updates = True
    await asyncio.wait_for(live.append_items(_turn("first message")), 1.0)
    assert store.calls.count("append_items") == 1
    assert store.applied == []
    pending = live.metadata_sync.take_pending_update()
    assert pending is not None
    assert pending.patch.preview == "first message"
    store.release_all()
    await live.flush()
    assert len(store.applied) == 1
    thread = await store.read_thread(ReadThreadParams(live.thread_id))
    assert thread.preview == "first message"
    assert thread.first_user_message == "first message"


async def test_appends_coalesce_while_metadata_update_is_in_flight() -> None:
    store = ScriptedStore()
    live = await _created(store)
    store.hold_updates = True
    await live.append_items(_turn("one"))
    await store.wait_attempts(1)  # update 1 in flight
    await live.append_items([items.agent_message("two")])
    await live.append_items([items.agent_message("three")])
    store.release_next()  # update 1 done; the coalesced update 2 starts
    await store.wait_attempts(2)
    flush = asyncio.create_task(live.flush())
    await asyncio.sleep(0.02)
    assert not flush.done()  # waits for the in-flight coalesced update
    await live.append_items([items.agent_message("four")])  # accepted after the barrier
    store.release_next()
    await asyncio.wait_for(flush, 1.0)  # does not wait for the update of "four"
    await store.wait_attempts(3)
    store.release_all()
    await live.flush()
    assert store.calls.count("append_items") == 4
    assert len(store.applied) == 3


async def test_queued_generation_keeps_its_barrier_when_in_flight_update_fails() -> None:
    store = ScriptedStore()
    live = await _created(store)
    store.hold_updates = True
    store.failures.append(Conflict("superseded failure"))
    await live.append_items(_turn("one"))
    await store.wait_attempts(1)
    await live.append_items([items.agent_message("two")])  # queued generation
    flush = asyncio.create_task(live.flush())
    await asyncio.sleep(0.01)
    store.hold_updates = False
    store.release_next()  # the in-flight update fails
    await asyncio.wait_for(flush, 1.0)  # the barrier retried the newer generation
    assert len(store.applied) == 1
    assert store.applied[0].patch.preview == "one"


async def test_failed_async_update_is_retried_and_reported_by_barriers() -> None:
    store = ScriptedStore()
    live = await _created(store)
    store.failures.extend([Conflict("background failure"), Conflict("lease lost")])
    await live.append_items(_turn("one"))
    await store.wait_attempts(1)
    await asyncio.sleep(0.01)
    assert live.last_background_error is not None
    with pytest.raises(Conflict, match="lease lost"):
        await live.flush()
    await live.flush()
    assert store.attempts == 3
    assert len(store.applied) == 1


async def test_shutdown_waits_for_queued_metadata_before_closing_store() -> None:
    store = ScriptedStore()
    live = await _created(store)
    store.hold_updates = True
    await live.append_items(_turn("one"))
    await store.wait_attempts(1)
    shutdown = asyncio.create_task(live.shutdown())
    await asyncio.sleep(0.02)
    assert "shutdown_thread" not in store.calls
    store.release_all()
    await asyncio.wait_for(shutdown, 1.0)
    assert store.calls.index("update_thread_metadata") < store.calls.index("shutdown_thread")
    assert live.closed
    with pytest.raises(ThreadNotFound):
        await live.append_items(_turn("after"))
    # Never-persisted events after shutdown are harmless.
    await live.append_items([items.event("shutdown_complete")])


async def test_discard_waits_for_in_flight_metadata_before_discarding_store() -> None:
    store = ScriptedStore()
    live = await _created(store)
    store.hold_updates = True
    await live.append_items(_turn("one"))
    await store.wait_attempts(1)
    discard = asyncio.create_task(live.discard())
    await asyncio.sleep(0.02)
    assert "discard_thread" not in store.calls
    store.release_all()
    await asyncio.wait_for(discard, 1.0)
    assert store.calls[-1] == "discard_thread"
    await live.discard()  # idempotent


async def test_create_then_shutdown_writes_nothing() -> None:
    store = ScriptedStore()
    live = await _created(store)
    await live.flush()
    await live.shutdown()
    assert "update_thread_metadata" not in store.calls
    with pytest.raises(ThreadNotFound):
        await store.read_thread(ReadThreadParams(live.thread_id))


async def test_persist_applies_deferred_creation_metadata() -> None:
    store = ScriptedStore()
    live = await _created(store)
    await live.persist()
    assert len(store.applied) == 1
    assert store.applied[0].patch.model_provider == "test"
    await live.shutdown()


async def test_resume_discards_writer_when_history_cannot_load() -> None:
    store = ScriptedStore()
    live = await _created(store)
    await live.append_items(_turn("one"))
    await live.shutdown()
    store.load_history_error = Internal("disk on fire")
    with pytest.raises(Internal):
        await LiveThread.resume(store, ResumeThreadParams(live.thread_id, cwd="/repo"))
    assert store.calls[-2:] == ["load_history", "discard_thread"]
    store.load_history_error = None
    again = await LiveThread.resume(store, ResumeThreadParams(live.thread_id, cwd="/repo"))  # no Conflict
    await again.shutdown()


async def test_resume_defers_history_metadata_until_first_append() -> None:
    store = ScriptedStore()
    live = await _created(store)
    await live.append_items(_turn("original"))
    await live.shutdown()
    applied_before = len(store.applied)
    resumed = await LiveThread.resume(store, ResumeThreadParams(live.thread_id, cwd="/repo"))
    assert next(i["type"] for i in resumed.initial_history) == "session_meta"
    await resumed.flush()
    assert len(store.applied) == applied_before  # opening never rewrites metadata
    await resumed.append_items([items.agent_message("more")])
    await resumed.flush()
    assert len(store.applied) == applied_before + 1
    assert store.applied[-1].patch.preview == "original"
    await resumed.shutdown()


async def test_explicit_updates_flush_pending_first() -> None:
    store = ScriptedStore()
    live = await _created(store)
    await live.update_memory_mode("disabled")
    assert len(store.applied) == 2  # the deferred creation metadata, then the memory mode
    thread = await live.update_metadata(ThreadMetadataPatch(name="Renamed"))
    assert thread.name == "Renamed"
    assert thread.memory_mode == "disabled"
    await live.shutdown()


async def test_local_rollout_path_is_none_for_stores_without_files() -> None:
    store = ScriptedStore()
    live = await _created(store)
    assert live.local_rollout_path() is None
    await live.shutdown()


async def test_init_guard_discards_on_failure_and_when_not_committed() -> None:
    store = ScriptedStore()
    live = await _created(store)
    with pytest.raises(RuntimeError):
        async with LiveThreadInitGuard(live):
            raise RuntimeError("session start failed")
    assert store.calls[-1] == "discard_thread"

    live2 = await _created(store)
    async with LiveThreadInitGuard(live2):
        pass  # never committed
    assert store.calls.count("discard_thread") == 2

    live3 = await _created(store)
    async with LiveThreadInitGuard(live3) as guard:
        assert guard.commit() is live3
    assert store.calls.count("discard_thread") == 2
    await live3.shutdown()

    async with LiveThreadInitGuard(None) as guard:
        assert guard.live is None
