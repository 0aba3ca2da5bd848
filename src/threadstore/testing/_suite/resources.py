"""Closing a store, failures during shutdown, archived histories and Unicode case folding."""

from __future__ import annotations

import pytest

from threadstore._contract.base import ThreadStore
from threadstore._contract.listing import ListThreadsParams, SearchThreadsParams
from threadstore._contract.types import LoadThreadHistoryParams, ReadThreadParams
from threadstore.errors import Internal, InvalidRequest
from threadstore.testing._backend import Backend
from threadstore.testing._builders import append, create_params, new_thread, read_items, turn


class ResourceTests:
    """Store resources and the remaining cross-backend rules (see the module documentation)."""

    async def test_close_shuts_live_writers_down_and_refuses_later_calls(self, backend: Backend) -> None:
        store = await backend.open()
        params = create_params()
        await store.create_thread(params)
        await append(store, params.thread_id, turn("unflushed"))
        await store.close()
        await store.close()  # idempotent
        with pytest.raises(InvalidRequest, match="closed"):
            await store.list_threads(ListThreadsParams())
        with pytest.raises(InvalidRequest, match="closed"):
            await append(store, params.thread_id, turn("late"))
        if backend.capabilities.durable:
            reopened = await backend.open()
            assert (await read_items(reopened, params.thread_id))[1:] == turn("unflushed")
            thread = await reopened.read_thread(ReadThreadParams(params.thread_id))
            assert thread.preview == "unflushed"

    async def test_stores_are_async_context_managers(self, backend: Backend) -> None:
        store = await backend.open()
        async with store as entered:
            assert entered is store
        with pytest.raises(InvalidRequest, match="closed"):
            await store.read_thread(ReadThreadParams(create_params().thread_id))

    async def test_a_failed_flush_during_shutdown_keeps_the_writer(self, backend: Backend, store: ThreadStore) -> None:
        thread_id = await new_thread(store, "before", shutdown=False)
        await backend.fail_next_flush(store, thread_id)
        with pytest.raises(Internal, match="injected"):
            await store.shutdown_thread(thread_id)
        # The writer is still live: appends go on, and a second shutdown succeeds.
        await append(store, thread_id, turn("after"))
        await store.shutdown_thread(thread_id)
        assert (await read_items(store, thread_id))[1:] == turn("before") + turn("after")

    async def test_load_history_of_an_archived_thread(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, "old")
        await store.archive_thread(thread_id)
        with pytest.raises(InvalidRequest, match="archived"):
            await store.load_history(LoadThreadHistoryParams(thread_id))
        history = await store.load_history(LoadThreadHistoryParams(thread_id, include_archived=True))
        assert history.thread_id == thread_id
        assert history.items[1:] == turn("old")

    async def test_search_and_filters_fold_case_the_unicode_way(self, store: ThreadStore) -> None:
        street = await new_thread(store, "Wir treffen uns in der Großstraße um acht")
        await new_thread(store, "nothing to see here")
        for term in ("SS", "GROSSSTRASSE", "großstraße", "grossstrasse"):
            page = await store.search_threads(SearchThreadsParams(search_term=term))
            assert [hit.thread.thread_id for hit in page.items] == [street], term
            assert "Großstraße" in page.items[0].snippet
        listed = await store.list_threads(ListThreadsParams(search_term="STRASSE"))
        assert [t.thread_id for t in listed.items] == [street]
