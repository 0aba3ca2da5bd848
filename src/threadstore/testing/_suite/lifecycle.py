"""The live-writer lifecycle rules (ARCHITECTURE.md §4): lazy creation, one writer per thread,
shutdown and discard, what survives them."""

from __future__ import annotations

import asyncio

import pytest

from threadstore import (
    Conflict,
    InvalidRequest,
    ListThreadsParams,
    ReadThreadParams,
    ResumeThreadParams,
    ThreadNotFound,
    ThreadStore,
    items,
)
from threadstore.testing._backend import Backend
from threadstore.testing._builders import append, create_params, new_thread, read_items, turn


async def _resume_once_released(store: ThreadStore, thread_id: str) -> None:
    """Resume ``thread_id`` as soon as its writer was released (which a cancelled shutdown or
    discard finishes in the background)."""
    for _ in range(500):  # up to 5 s on a loaded machine
        try:
            await store.resume_thread(ResumeThreadParams(thread_id=thread_id))
            return
        except Conflict:
            await asyncio.sleep(0.01)
    pytest.fail("the writer was never released")


class LifecycleTests:
    """The live-writer lifecycle (see the module documentation)."""

    async def test_create_writes_nothing_until_a_persisted_item(self, store: ThreadStore) -> None:
        params = create_params()
        await store.create_thread(params)
        with pytest.raises(ThreadNotFound):
            await store.read_thread(ReadThreadParams(thread_id=params.thread_id))
        await append(
            store,
            params.thread_id,
            [items.event("agent_message_delta", delta="x"), items.event("warning", message="w")],
        )
        await store.flush_thread(params.thread_id)
        with pytest.raises(ThreadNotFound):
            await store.read_thread(ReadThreadParams(thread_id=params.thread_id))
        await store.shutdown_thread(params.thread_id)
        with pytest.raises(ThreadNotFound):
            await store.read_thread(ReadThreadParams(thread_id=params.thread_id))
        assert (await store.list_threads(ListThreadsParams())).items == []

    async def test_first_persisted_item_materializes_with_session_meta_first(self, store: ThreadStore) -> None:
        params = create_params()
        await store.create_thread(params)
        await append(store, params.thread_id, turn("hello"))
        history = await read_items(store, params.thread_id)
        assert history[0]["type"] == "session_meta"
        assert history[0]["payload"]["id"] == params.thread_id
        assert history[0]["payload"]["cwd"] == "/srv/project"
        assert history[1:] == turn("hello")

    async def test_persist_materializes_an_empty_thread(self, store: ThreadStore) -> None:
        params = create_params()
        await store.create_thread(params)
        await store.persist_thread(params.thread_id)
        await store.persist_thread(params.thread_id)  # idempotent
        history = await read_items(store, params.thread_id)
        assert [i["type"] for i in history] == ["session_meta"]
        # Not listed: it has no user message yet.
        assert (await store.list_threads(ListThreadsParams())).items == []

    async def test_operations_after_shutdown_raise_thread_not_found(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store)
        with pytest.raises(ThreadNotFound):
            await append(store, thread_id, turn("again"))
        for op in (store.persist_thread, store.flush_thread, store.shutdown_thread):
            with pytest.raises(ThreadNotFound):
                await op(thread_id)
        # Never-persisted events after shutdown are harmless (a ShutdownComplete bug Codex had).
        await append(store, thread_id, [items.event("shutdown_complete")])
        assert len(await read_items(store, thread_id)) == 1 + len(turn("hello"))

    async def test_unknown_thread_live_operations(self, store: ThreadStore) -> None:
        params = create_params()
        with pytest.raises(ThreadNotFound):
            await append(store, params.thread_id, turn("x"))
        with pytest.raises(ThreadNotFound):
            await store.flush_thread(params.thread_id)
        await store.discard_thread(params.thread_id)  # idempotent release: no error

    async def test_second_live_writer_is_refused(self, store: ThreadStore) -> None:
        params = create_params()
        await store.create_thread(params)
        with pytest.raises(Conflict):
            await store.create_thread(params)
        await append(store, params.thread_id, turn("hello"))
        with pytest.raises(Conflict):
            await store.resume_thread(ResumeThreadParams(thread_id=params.thread_id))
        await store.shutdown_thread(params.thread_id)
        # Creating a thread that already exists is refused too.
        with pytest.raises(Conflict):
            await store.create_thread(params)

    async def test_resume_continues_the_same_history(self, backend: Backend) -> None:
        store = await backend.open()
        thread_id = await new_thread(store, "first")
        reopened = await backend.open()
        await reopened.resume_thread(ResumeThreadParams(thread_id=thread_id))
        await append(reopened, thread_id, turn("second"))
        await reopened.shutdown_thread(thread_id)
        history = await read_items(reopened, thread_id)
        assert history[1:] == turn("first") + turn("second")

    async def test_resume_of_unknown_thread(self, store: ThreadStore) -> None:
        with pytest.raises(ThreadNotFound):
            await store.resume_thread(ResumeThreadParams(thread_id=create_params().thread_id))

    async def test_resume_of_archived_thread_needs_include_archived(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store)
        await store.archive_thread(thread_id)
        with pytest.raises(InvalidRequest, match="archived"):
            await store.resume_thread(ResumeThreadParams(thread_id=thread_id))
        await store.resume_thread(ResumeThreadParams(thread_id=thread_id, include_archived=True))
        await append(store, thread_id, turn("still archived"))
        await store.shutdown_thread(thread_id)
        thread = await store.read_thread(ReadThreadParams(thread_id=thread_id, include_archived=True))
        assert thread.archived_at is not None

    async def test_discard_is_idempotent_and_leaves_nothing_for_an_unmaterialized_thread(
        self, store: ThreadStore
    ) -> None:
        params = create_params()
        await store.create_thread(params)
        await store.discard_thread(params.thread_id)
        await store.discard_thread(params.thread_id)
        with pytest.raises(ThreadNotFound):
            await append(store, params.thread_id, turn("late"))
        with pytest.raises(ThreadNotFound):
            await store.read_thread(ReadThreadParams(thread_id=params.thread_id))

    async def test_discard_keeps_the_durable_prefix_for_resume(self, backend: Backend) -> None:
        store = await backend.open()
        params = create_params()
        await store.create_thread(params)
        await append(store, params.thread_id, turn("kept"))
        await store.flush_thread(params.thread_id)
        await store.discard_thread(params.thread_id)
        with pytest.raises(ThreadNotFound):
            await store.flush_thread(params.thread_id)
        reopened = await backend.open()
        await reopened.resume_thread(ResumeThreadParams(thread_id=params.thread_id))
        await append(reopened, params.thread_id, turn("after"))
        await reopened.shutdown_thread(params.thread_id)
        assert (await read_items(reopened, params.thread_id))[1:] == turn("kept") + turn("after")

    async def test_shutdown_finishes_when_the_caller_is_cancelled(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, shutdown=False)
        task = asyncio.ensure_future(store.shutdown_thread(thread_id))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The release completed anyway: the thread can be resumed.
        await _resume_once_released(store, thread_id)
        await store.shutdown_thread(thread_id)

    async def test_discard_finishes_when_the_caller_is_cancelled(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, shutdown=False)
        task = asyncio.ensure_future(store.discard_thread(thread_id))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(ThreadNotFound):
            await append(store, thread_id, turn("late"))
        await _resume_once_released(store, thread_id)
        await store.discard_thread(thread_id)

    async def test_concurrent_appends_keep_each_call_contiguous(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, shutdown=False)

        async def add(n: int) -> None:
            await append(store, thread_id, [items.agent_message(f"{n}-a"), items.agent_message(f"{n}-b")])

        await asyncio.gather(*(add(n) for n in range(50)))
        await store.shutdown_thread(thread_id)
        messages = [
            i["payload"]["message"] for i in (await read_items(store, thread_id))[1:] if i["type"] == "event_msg"
        ]
        messages = [m for m in messages if "-" in m]
        assert len(messages) == 100
        for first, second in zip(messages[::2], messages[1::2], strict=True):
            assert first.endswith("-a")
            assert second == first[:-1] + "b"

    async def test_append_is_all_or_nothing(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, shutdown=False)
        before = await read_items(store, thread_id)
        bad = items.agent_message("fine")
        bad["payload"]["extra"] = {1, 2}  # not JSON
        with pytest.raises(InvalidRequest):
            await append(store, thread_id, [items.agent_message("first"), bad])
        assert await read_items(store, thread_id) == before
        await store.shutdown_thread(thread_id)

    async def test_oversized_item_is_refused(self, backend: Backend) -> None:
        from threadstore import ResourceExhausted

        store = await backend.open()
        thread_id = await new_thread(store, shutdown=False)
        before = await read_items(store, thread_id)
        huge = items.agent_message("x" * (17 * 1024 * 1024))
        with pytest.raises(ResourceExhausted):
            await append(store, thread_id, [huge])
        assert await read_items(store, thread_id) == before
        await store.shutdown_thread(thread_id)

    async def test_persistence_policy_limited_and_extended(self, store: ThreadStore) -> None:
        raw = [
            items.user_message("hi"),
            items.event("agent_message_delta", delta="h"),
            items.event("session_configured", model="m"),
            items.event("exec_command_begin", call_id="c"),
            items.event("error", message="boom"),
            items.event("shutdown_complete"),
            items.agent_message("hello"),
        ]
        limited = create_params()
        await store.create_thread(limited)
        await append(store, limited.thread_id, raw)
        extended = create_params(event_persistence_mode="extended")
        await store.create_thread(extended)
        await append(store, extended.thread_id, raw)
        kinds_limited = [i["payload"]["type"] for i in (await read_items(store, limited.thread_id))[1:]]
        kinds_extended = [i["payload"]["type"] for i in (await read_items(store, extended.thread_id))[1:]]
        assert kinds_limited == ["user_message", "agent_message"]
        assert kinds_extended == ["user_message", "error", "agent_message"]
        await store.shutdown_thread(limited.thread_id)
        await store.shutdown_thread(extended.thread_id)

    async def test_unknown_kinds_and_fields_round_trip_losslessly(self, backend: Backend) -> None:
        store = await backend.open()
        weird = [
            {"type": "world_state", "payload": {"full": True, "state": {"nested": [1, 2.5, None, "é"]}}},
            {"type": "response_item", "payload": {"type": "future_thing", "x": 1}, "metadata": {"seq": 9}},
            {
                "type": "event_msg",
                "payload": {"type": "user_message", "message": 'line\u2028sep \u2029 😀 "q"', "new_field": [1]},
            },
            {"type": "turn_context", "payload": {"cwd": "/w", "model": "m", "unknown": {"a": "b"}}},
        ]
        params = create_params()
        await store.create_thread(params)
        await append(store, params.thread_id, weird)
        await store.shutdown_thread(params.thread_id)
        reopened = await backend.open()
        assert (await read_items(reopened, params.thread_id))[1:] == weird
        thread = await reopened.read_thread(ReadThreadParams(thread_id=params.thread_id))
        assert thread.preview == 'line\u2028sep \u2029 😀 "q"'
