"""Any sequence of calls with hostile input, on every backend: each call works or raises a store
error, and afterwards a thread nobody touched still lists, reads and searches as before."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadstore import (
    AppendThreadItemsParams,
    ListThreadsParams,
    ReadThreadParams,
    SearchThreadsParams,
    ThreadMetadataPatch,
    ThreadStore,
    ThreadStoreError,
    UpdateThreadMetadataParams,
    new_thread_id,
)
from threadstore.testing import Backend, create_params, new_thread
from threadstore.testing._backends import LocalBackend, MemoryBackend, remote_over

from .strategies import items, json_values, texts, timestamps

Op = Callable[[ThreadStore, list[str]], Awaitable[Any]]


def _pick(ids: list[str], index: int) -> str:
    return ids[index % len(ids)] if ids else new_thread_id()


def _create(text: str) -> Op:
    async def run(store: ThreadStore, ids: list[str]) -> None:
        params = create_params(cwd=text)
        await store.create_thread(params)
        ids.append(params.thread_id)

    return run


def _append(index: int, batch: list[dict[str, Any]]) -> Op:
    async def run(store: ThreadStore, ids: list[str]) -> None:
        await store.append_items(AppendThreadItemsParams(_pick(ids, index), batch))

    return run


def _update(index: int, patch: dict[str, Any]) -> Op:
    async def run(store: ThreadStore, ids: list[str]) -> None:
        params = UpdateThreadMetadataParams(_pick(ids, index), ThreadMetadataPatch.from_json(patch))
        await store.update_thread_metadata(params)

    return run


def _query(term: str, cursor: str) -> Op:
    async def run(store: ThreadStore, ids: list[str]) -> None:
        await store.search_threads(SearchThreadsParams(search_term=term or "x", cursor=cursor or None))
        await store.list_threads(ListThreadsParams(search_term=term, cursor=cursor or None))

    return run


def _lifecycle(index: int, name: str) -> Op:
    async def run(store: ThreadStore, ids: list[str]) -> None:
        await getattr(store, name)(_pick(ids, index))

    return run


OPS = st.one_of(
    texts.map(_create),
    st.builds(_append, st.integers(0, 5), st.lists(items, max_size=3)),
    st.builds(
        _update,
        st.integers(0, 5),
        st.dictionaries(
            st.sampled_from(["name", "memory_mode", "cwd", "updated_at", "sandbox_policy"]),
            json_values | timestamps,
            max_size=3,
        ),
    ),
    st.builds(_query, texts, texts | timestamps),
    st.builds(
        _lifecycle,
        st.integers(0, 5),
        st.sampled_from(
            [
                "flush_thread",
                "persist_thread",
                "shutdown_thread",
                "discard_thread",
                "archive_thread",
                "unarchive_thread",
                "delete_thread",
            ]
        ),
    ),
)

BACKENDS: dict[str, type[Backend]] = {"memory": MemoryBackend, "local": LocalBackend, "remote": remote_over(MemoryBackend)}


@pytest.fixture(params=sorted(BACKENDS))
def backend_class(request: pytest.FixtureRequest) -> type[Backend]:
    return BACKENDS[str(request.param)]


@given(st.lists(OPS, min_size=1, max_size=12))
def test_hostile_sequences_leave_other_threads_alone(
    backend_class: type[Backend], tmp_path_factory: pytest.TempPathFactory, ops: list[Op]
) -> None:
    async def scenario() -> None:
        backend = backend_class(tmp_path_factory.mktemp("store"))
        try:
            store = await backend.open()
            sentinel = await new_thread(store, "the sentinel thread")
            before = await store.read_thread(ReadThreadParams(sentinel, include_history=True))
            ids: list[str] = []
            for op in ops:
                with contextlib.suppress(ThreadStoreError):  # refused is fine; any other error fails
                    await op(store, ids)
            after = await store.read_thread(ReadThreadParams(sentinel, include_history=True))
            assert after == before
            listed = {t.thread_id for t in (await store.list_threads(ListThreadsParams(page_size=1000))).items}
            assert sentinel in listed
            hits = await store.search_threads(SearchThreadsParams(search_term="sentinel"))
            assert sentinel in {h.thread.thread_id for h in hits.items}
        finally:
            await backend.aclose()

    asyncio.run(scenario())
