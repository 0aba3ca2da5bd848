"""LiveThread: a thin lifecycle handle over the store, and LiveThreadInitGuard. Metadata is
derived in one layer, the store's (the summary fold, ``_rollout.summary``); these tests check that
the runtime adds no second derivation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from threadstore import items
from threadstore._contract import types
from threadstore._contract.patch import ThreadMetadataPatch
from threadstore._contract.types import CreateThreadParams, ReadThreadParams, ResumeThreadParams
from threadstore._ids import new_thread_id
from threadstore._rollout.policy import PersistedItems, classify
from threadstore._runtime import LiveThread, LiveThreadInitGuard
from threadstore.errors import Internal, ThreadNotFound

from .support import ScriptedStore


def _params(thread_id: str | None = None) -> CreateThreadParams:
    return CreateThreadParams(thread_id=thread_id or new_thread_id(), cwd="/repo", model_provider="test")


def _turn(text: str) -> list[dict[str, object]]:
    return [items.user_response_message(text), items.user_message(text)]


async def _created(store: ScriptedStore) -> LiveThread:
    return await LiveThread.create(store, _params())


async def test_appended_history_yields_metadata_without_metadata_writes() -> None:
    store = ScriptedStore()
    live = await _created(store)
    await live.append_items(_turn("first message"))
    await live.append_items([items.agent_message("answer")])
    await live.flush()
    thread = await store.read_thread(ReadThreadParams(live.thread_id))
    assert thread.preview == "first message"
    assert thread.first_user_message == "first message"
    assert thread.model_provider == "test"
    assert "update_thread_metadata" not in store.calls
    await live.shutdown()


async def test_policy_runs_once_per_append(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def counting(batch: Iterable[dict[str, Any]]) -> PersistedItems:
        listed = list(batch)
        seen.append(len(listed))
        return classify(listed)

    monkeypatch.setattr(types, "classify", counting)
    store = ScriptedStore()
    live = await _created(store)
    raw = [*_turn("hi"), items.event("agent_message_delta", delta="h"), items.event("session_configured")]
    await live.append_items(raw)
    await live.append_items([items.event("warning", message="only a warning")])
    assert seen == [4, 1]  # one pass over each append's items, whatever crosses the store
    assert store.calls.count("append_items") == 1  # the warning-only append needed no writer
    await live.shutdown()


async def test_create_then_shutdown_writes_nothing() -> None:
    store = ScriptedStore()
    live = await _created(store)
    await live.flush()
    await live.shutdown()
    assert store.calls == ["shutdown_thread"]
    with pytest.raises(ThreadNotFound):
        await store.read_thread(ReadThreadParams(live.thread_id))


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


async def test_resume_writes_nothing_until_something_is_appended() -> None:
    store = ScriptedStore()
    live = await _created(store)
    await live.append_items(_turn("original"))
    await live.shutdown()
    before = await store.read_thread(ReadThreadParams(live.thread_id))
    calls = len(store.calls)
    resumed = await LiveThread.resume(store, ResumeThreadParams(live.thread_id, cwd="/repo"))
    assert next(i["type"] for i in resumed.initial_history) == "session_meta"
    await resumed.flush()
    await resumed.shutdown()
    assert store.calls[calls:] == ["load_history", "shutdown_thread"]
    assert await store.read_thread(ReadThreadParams(live.thread_id)) == before


async def test_explicit_updates_reach_the_store() -> None:
    store = ScriptedStore()
    live = await _created(store)
    await live.update_memory_mode("disabled")
    thread = await live.update_metadata(ThreadMetadataPatch(name="Renamed"))
    assert thread.name == "Renamed"
    assert thread.memory_mode == "disabled"
    assert store.calls.count("update_thread_metadata") == 2
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
