"""Labels: given at creation, set and removed by patches, kept across reopens, archive and
copies, and filtering listings and searches."""

from __future__ import annotations

from typing import Any

import pytest

from threadstore import (
    CreateThreadParams,
    InvalidRequest,
    ListThreadsParams,
    ReadThreadParams,
    SearchThreadsParams,
    StoredThread,
    ThreadMetadataPatch,
    ThreadStore,
    UpdateThreadMetadataParams,
)
from threadstore.testing._backend import Backend
from threadstore.testing._builders import create_params, new_thread


async def _label(store: ThreadStore, thread_id: str, **changes: Any) -> StoredThread:
    patch = ThreadMetadataPatch(labels=changes)
    return await store.update_thread_metadata(UpdateThreadMetadataParams(thread_id, patch, include_archived=True))


async def _listed(store: ThreadStore, labels: dict[str, str], *, archived: bool = False) -> list[str]:
    page = await store.list_threads(ListThreadsParams(labels=labels, archived=archived))
    return [t.thread_id for t in page.items]


class LabelTests:
    """See the module documentation."""

    async def test_labels_given_at_creation_are_kept_and_filter(self, backend: Backend) -> None:
        store = await backend.open()
        alpha = await new_thread(store, "built on alpha", labels={"host": "alpha", "team": "core"})
        beta = await new_thread(store, "built on beta", labels={"host": "beta"})
        plain = await new_thread(store, "no labels at all")
        reopened = await backend.open()
        read = await reopened.read_thread(ReadThreadParams(alpha))
        assert dict(read.labels) == {"host": "alpha", "team": "core"}
        assert dict((await reopened.read_thread(ReadThreadParams(plain))).labels) == {}
        assert await _listed(reopened, {"host": "alpha"}) == [alpha]
        assert await _listed(reopened, {"host": "beta"}) == [beta]
        assert await _listed(reopened, {"host": "alpha", "team": "core"}) == [alpha]
        assert await _listed(reopened, {"host": "alpha", "team": "other"}) == []
        assert await _listed(reopened, {"host": "gamma"}) == []
        everything = await reopened.list_threads(ListThreadsParams(labels={}))
        assert {alpha, beta, plain} <= {t.thread_id for t in everything.items}
        found = await reopened.search_threads(SearchThreadsParams(search_term="built", labels={"host": "beta"}))
        assert [hit.thread.thread_id for hit in found.items] == [beta]

    async def test_patches_set_and_remove_labels_durably(self, backend: Backend) -> None:
        store = await backend.open()
        thread_id = await new_thread(store, "label me", labels={"host": "alpha", "stage": "draft"})
        changed = await _label(store, thread_id, stage=None, owner="ana")
        assert dict(changed.labels) == {"host": "alpha", "owner": "ana"}
        assert changed.preview == "label me"
        reopened = await backend.open()
        assert dict((await reopened.read_thread(ReadThreadParams(thread_id))).labels) == {
            "host": "alpha",
            "owner": "ana",
        }
        assert await _listed(reopened, {"owner": "ana"}) == [thread_id]
        assert await _listed(reopened, {"stage": "draft"}) == []
        again = await _label(reopened, thread_id, host="beta")
        assert dict(again.labels) == {"host": "beta", "owner": "ana"}
        assert await _listed(reopened, {"host": "alpha"}) == []
        assert await _listed(reopened, {"host": "beta"}) == [thread_id]

    async def test_labels_follow_a_thread_into_the_archive(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, "archive me", labels={"host": "alpha"})
        await _label(store, thread_id, owner="ana")
        await store.archive_thread(thread_id)
        assert await _listed(store, {"owner": "ana"}) == []
        assert await _listed(store, {"owner": "ana"}, archived=True) == [thread_id]
        restored = await store.unarchive_thread(thread_id)
        assert dict(restored.labels) == {"host": "alpha", "owner": "ana"}

    async def test_a_live_thread_takes_labels(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, "still writing", shutdown=False, labels={"host": "alpha"})
        labelled = await _label(store, thread_id, owner="ana")
        assert dict(labelled.labels) == {"host": "alpha", "owner": "ana"}
        await store.shutdown_thread(thread_id)
        assert await _listed(store, {"owner": "ana"}) == [thread_id]

    async def test_bad_labels_are_refused_where_they_enter(self, store: ThreadStore) -> None:
        for bad in ({"": "x"}, {"with space": "x"}, {"k": 3}, {"k": "nul\x00"}, {"k": "x" * 1001}):
            with pytest.raises(InvalidRequest):
                create_params(labels=bad)
            with pytest.raises(InvalidRequest):
                ListThreadsParams(labels=bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidRequest):
            ThreadMetadataPatch(labels={"k k": None})
        with pytest.raises(InvalidRequest):
            CreateThreadParams(thread_id=create_params().thread_id, cwd="/", model_provider="p", labels=["x"])  # type: ignore[arg-type]
