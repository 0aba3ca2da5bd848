"""Safe retries: an append carrying an idempotency key is stored once however often it is sent
(``AppendThreadItemsParams.idempotency_key``), the key is kept with the thread (across writers,
and across a reopen of a durable store), and a key sent again with other items is refused."""

from __future__ import annotations

import asyncio

import pytest

from threadstore import (
    AppendThreadItemsParams,
    Conflict,
    InvalidRequest,
    ResumeThreadParams,
    ThreadNotFound,
    ThreadStore,
)
from threadstore.testing._backend import Backend
from threadstore.testing._builders import create_params, read_items, turn


async def _keyed(store: ThreadStore, thread_id: str, text: str, key: str) -> None:
    await store.append_items(AppendThreadItemsParams(thread_id, turn(text), idempotency_key=key))


class RetryTests:
    """Idempotency keys (see the module documentation)."""

    async def test_an_append_sent_again_with_its_key_is_stored_once(self, store: ThreadStore) -> None:
        params = create_params()
        await store.create_thread(params)
        tid = params.thread_id
        await _keyed(store, tid, "first", "key-1")
        await _keyed(store, tid, "first", "key-1")
        await _keyed(store, tid, "second", "key-2")
        await _keyed(store, tid, "first", "key-1")  # still known after another append
        await _keyed(store, tid, "second", "key-3")  # the same items under a new key are new
        await store.shutdown_thread(tid)
        history = await read_items(store, tid)
        assert history[1:] == turn("first") + turn("second") + turn("second")

    async def test_concurrent_sends_of_one_keyed_append_store_it_once(self, store: ThreadStore) -> None:
        params = create_params()
        await store.create_thread(params)
        await asyncio.gather(*(_keyed(store, params.thread_id, "once", "same-key") for _ in range(5)))
        await store.shutdown_thread(params.thread_id)
        assert (await read_items(store, params.thread_id))[1:] == turn("once")

    async def test_keys_belong_to_one_thread(self, store: ThreadStore) -> None:
        first, second = create_params(), create_params()
        for params in (first, second):
            await store.create_thread(params)
            await _keyed(store, params.thread_id, "hello", "shared-key")
            await store.shutdown_thread(params.thread_id)
        for params in (first, second):
            assert (await read_items(store, params.thread_id))[1:] == turn("hello")

    async def test_a_key_on_a_closed_thread_is_thread_not_found(self, store: ThreadStore) -> None:
        params = create_params()
        await store.create_thread(params)
        await _keyed(store, params.thread_id, "hello", "key-1")
        await store.shutdown_thread(params.thread_id)
        with pytest.raises(ThreadNotFound):
            await _keyed(store, params.thread_id, "hello", "key-1")
        with pytest.raises(ThreadNotFound):
            await _keyed(store, params.thread_id, "hello", "key-2")
        assert (await read_items(store, params.thread_id))[1:] == turn("hello")

    async def test_bad_keys_are_invalid_requests(self, store: ThreadStore) -> None:
        params = create_params()
        for bad in ("", "k" * 201, "\ud800", 7):
            with pytest.raises(InvalidRequest):
                AppendThreadItemsParams(params.thread_id, turn("x"), idempotency_key=bad)  # type: ignore[arg-type]
        await store.create_thread(params)
        await _keyed(store, params.thread_id, "longest", "k" * 200)
        await store.shutdown_thread(params.thread_id)
        assert (await read_items(store, params.thread_id))[1:] == turn("longest")

    async def test_a_key_sent_again_with_other_items_is_refused(self, store: ThreadStore) -> None:
        params = create_params()
        await store.create_thread(params)
        tid = params.thread_id
        await _keyed(store, tid, "first", "key-1")
        with pytest.raises(Conflict, match="already used for other items"):
            await _keyed(store, tid, "other", "key-1")
        await _keyed(store, tid, "first", "key-1")  # the retry it really is still passes
        await store.shutdown_thread(tid)
        assert (await read_items(store, tid))[1:] == turn("first")

    async def test_keys_are_kept_with_the_thread(self, backend: Backend, store: ThreadStore) -> None:
        """A key outlives the writer that stored it: a retry that reaches the thread after it
        was shut down and resumed (on a durable backend: by a store opened anew, as after a
        restart) stores nothing, and the key with other items is still refused."""
        params = create_params()
        await store.create_thread(params)
        tid = params.thread_id
        await _keyed(store, tid, "first", "key-1")
        await store.shutdown_thread(tid)
        again = await backend.open()
        await again.resume_thread(ResumeThreadParams(thread_id=tid))
        await _keyed(again, tid, "first", "key-1")
        with pytest.raises(Conflict):
            await _keyed(again, tid, "other", "key-1")
        await _keyed(again, tid, "second", "key-2")
        await again.shutdown_thread(tid)
        assert (await read_items(again, tid))[1:] == turn("first") + turn("second")
