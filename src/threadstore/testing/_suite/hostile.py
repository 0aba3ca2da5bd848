"""Hostile input: every call either works or raises a store error (``InvalidRequest`` for bad
input), and a refused call changes nothing (issue classes: values a datetime cannot hold, deep
nesting, text that is not Unicode, NUL in search terms, oversized cursors, cursors naming
positions no store holds), and odd but valid input is kept (NUL in a session source)."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Awaitable, Callable

import pytest

from threadstore._contract.base import ThreadStore
from threadstore._contract.listing import ListThreadsParams, SearchThreadsParams
from threadstore._contract.paging import ListItemsParams, ListTurnsParams
from threadstore._contract.types import ReadThreadParams
from threadstore.errors import InvalidRequest, ThreadStoreError
from threadstore.testing._builders import append, create_params, new_thread, read_items, turn

OUT_OF_RANGE = ("9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00")


def _cursor(fields: dict[str, object]) -> str:
    """A page cursor as stores write them, holding ``fields``."""
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode("ascii").rstrip("=")


def _nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = [value]
    return value


class HostileInputTests:
    """Bad input is refused cleanly (see the module documentation)."""

    async def test_items_with_timestamps_no_datetime_holds_are_refused(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, shutdown=False)
        before = await read_items(store, thread_id)
        for stamp in OUT_OF_RANGE:
            poisoned = {"timestamp": stamp, **turn("late")[1]}
            with pytest.raises(InvalidRequest, match="timestamp"):
                await append(store, thread_id, [poisoned])
        assert await read_items(store, thread_id) == before
        await store.shutdown_thread(thread_id)
        # The store as a whole is unharmed.
        other = await new_thread(store, "unrelated")
        assert other in {t.thread_id for t in (await store.list_threads(ListThreadsParams())).items}

    async def test_cursors_no_datetime_holds_are_invalid(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store)
        for stamp in OUT_OF_RANGE:
            for cursor in (stamp, f"{stamp}|{thread_id}"):
                with pytest.raises(InvalidRequest, match="cursor"):
                    await store.list_threads(ListThreadsParams(cursor=cursor))
                with pytest.raises(InvalidRequest, match="cursor"):
                    await store.search_threads(SearchThreadsParams(search_term="hello", cursor=cursor))

    async def test_page_cursors_beyond_any_position_are_invalid(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store)
        for cursor in (
            _cursor({"k": "turn", "s": 2**63, "id": "t", "a": False}),
            _cursor({"k": "turn", "s": 2**70, "id": "t", "a": True}),
        ):
            with pytest.raises(InvalidRequest, match="cursor"):
                await store.list_turns(ListTurnsParams(thread_id, cursor=cursor))
        beyond = _cursor({"k": "item", "o": 2**63, "id": "k", "a": False})
        with pytest.raises(InvalidRequest, match="cursor"):
            await store.list_items(ListItemsParams(thread_id, cursor=beyond))
        # The largest position a cursor may name reaches the store, which finds no such turn.
        largest = _cursor({"k": "turn", "s": 2**63 - 1, "id": "t", "a": False})
        with pytest.raises(InvalidRequest, match="no longer present"):
            await store.list_turns(ListTurnsParams(thread_id, cursor=largest))
        with pytest.raises(InvalidRequest, match="cursor"):
            await store.list_items(ListItemsParams(thread_id, cursor=_cursor({"k": "item", "o": 2**63 - 1, "id": "k", "a": False})))

    async def test_nul_in_a_session_source_is_kept(self, store: ThreadStore) -> None:
        for source in ("cli\x00x", {"custom": "a\x00b"}):
            thread_id = await new_thread(store, source=source)
            assert (await store.read_thread(ReadThreadParams(thread_id))).source == source
            listed = await store.list_threads(ListThreadsParams(allowed_sources=[source]))
            assert [t.thread_id for t in listed.items] == [thread_id]

    async def test_a_huge_invalid_cursor_is_not_echoed_whole(self, store: ThreadStore) -> None:
        with pytest.raises(InvalidRequest) as raised:
            await store.list_threads(ListThreadsParams(cursor="x" * 100_000))
        assert len(str(raised.value)) < 400

    async def test_deeply_nested_items_are_refused(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, shutdown=False)
        before = await read_items(store, thread_id)
        for depth in (300, 1200, 5000):
            deep = {"type": "response_item", "payload": {"type": "message", "deep": _nested(depth)}}
            with pytest.raises(InvalidRequest):
                await append(store, thread_id, [deep])
        assert await read_items(store, thread_id) == before
        await store.shutdown_thread(thread_id)

    async def test_lone_surrogates_in_items_are_refused(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, shutdown=False)
        before = await read_items(store, thread_id)
        with pytest.raises(InvalidRequest):
            await append(
                store, thread_id, [{"type": "event_msg", "payload": {"type": "user_message", "message": "\ud800"}}]
            )
        assert await read_items(store, thread_id) == before
        await store.shutdown_thread(thread_id)

    async def test_search_terms_that_are_not_unicode_are_invalid(self) -> None:
        for term in ("\udcff", "lone \ud800 surrogate"):
            with pytest.raises(InvalidRequest):
                SearchThreadsParams(search_term=term)
            with pytest.raises(InvalidRequest):
                ListThreadsParams(search_term=term)

    async def test_nul_characters_are_text_like_any_other(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, "before \x00 after")
        await new_thread(store, "no such character here")
        for term in ("\x00", "e \x00 a", "BEFORE \x00"):
            page = await store.search_threads(SearchThreadsParams(search_term=term))
            assert [hit.thread.thread_id for hit in page.items] == [thread_id], term
        listed = await store.list_threads(ListThreadsParams(search_term="\x00"))
        assert [t.thread_id for t in listed.items] == [thread_id]

    async def test_every_failure_is_a_store_error(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store)
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: store.read_thread(ReadThreadParams(thread_id, include_history=True)),
            lambda: store.search_threads(SearchThreadsParams(search_term="\u2028 line separator")),
            lambda: store.search_threads(SearchThreadsParams(search_term='"quoted" AND OR NEAR(')),
            lambda: store.search_threads(SearchThreadsParams(search_term="%_\\")),
            lambda: store.list_threads(ListThreadsParams(search_term="*", cwd_filters=["/\x00"])),
        ]
        for call in calls:
            with contextlib.suppress(ThreadStoreError):  # working or refused: both fine, anything else fails
                await call()
        assert (await store.read_thread(ReadThreadParams(thread_id))).preview == "hello"

    async def test_a_refused_create_leaves_no_trace(self, store: ThreadStore) -> None:
        with pytest.raises(InvalidRequest):
            create_params(cwd="/bad\ud800")
        assert (await store.list_threads(ListThreadsParams())).items == []
