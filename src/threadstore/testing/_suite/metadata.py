"""Metadata patches, archive state, and delete."""

from __future__ import annotations

from typing import Any

import pytest

from threadstore import (
    GitInfo,
    GitInfoPatch,
    InvalidRequest,
    ListThreadsParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    StoredThread,
    ThreadMetadataPatch,
    ThreadNotFound,
    ThreadStore,
    UpdateThreadMetadataParams,
)
from threadstore.testing._backend import Backend
from threadstore.testing._builders import append, create_params, new_thread, turn


async def update(store: ThreadStore, thread_id: str, include_archived: bool = False, **fields: Any) -> StoredThread:
    patch = ThreadMetadataPatch(**fields)
    return await store.update_thread_metadata(
        UpdateThreadMetadataParams(thread_id=thread_id, patch=patch, include_archived=include_archived)
    )


class MetadataTests:
    """Metadata updates, archive and delete (see the module documentation)."""

    async def test_rename_and_clear_name(self, backend: Backend) -> None:
        store = await backend.open()
        thread_id = await new_thread(store, "a question")
        renamed = await update(store, thread_id, name="Storage work")
        assert renamed.name == "Storage work"
        assert renamed.preview == "a question"
        reopened = await backend.open()
        assert (await reopened.read_thread(ReadThreadParams(thread_id=thread_id))).name == "Storage work"
        listed = (await reopened.list_threads(ListThreadsParams(search_term="storage"))).items
        assert [t.thread_id for t in listed] == [thread_id]
        cleared = await update(reopened, thread_id, name=None)
        assert cleared.name is None
        with pytest.raises(InvalidRequest):
            ThreadMetadataPatch(name="   ")

    async def test_memory_mode_and_git_patches(self, backend: Backend) -> None:
        store = await backend.open()
        thread_id = await new_thread(store, git_info=GitInfo("abc", "main", "https://example.com/r.git"))
        assert (await store.read_thread(ReadThreadParams(thread_id=thread_id))).git_info == GitInfo(
            "abc", "main", "https://example.com/r.git"
        )
        disabled = await update(store, thread_id, memory_mode="disabled")
        assert disabled.memory_mode == "disabled"
        patched = await update(store, thread_id, git_info=GitInfoPatch(branch="feature", origin_url=None))
        assert patched.git_info == GitInfo("abc", "feature", None)
        assert patched.memory_mode == "disabled"  # a git update keeps the memory mode
        reopened = await backend.open()
        thread = await reopened.read_thread(ReadThreadParams(thread_id=thread_id))
        assert thread.git_info == GitInfo("abc", "feature", None)
        assert thread.memory_mode == "disabled"
        enabled = await update(reopened, thread_id, memory_mode="enabled")
        assert enabled.memory_mode == "enabled"
        assert enabled.git_info == GitInfo("abc", "feature", None)

    async def test_update_live_thread_and_unknown_thread(self, store: ThreadStore) -> None:
        params = create_params()
        await store.create_thread(params)
        # A live thread that has not materialized yet can be renamed (it materializes).
        renamed = await update(store, params.thread_id, name="early name")
        assert renamed.name == "early name"
        await append(store, params.thread_id, turn("hello"))
        await store.shutdown_thread(params.thread_id)
        thread = await store.read_thread(ReadThreadParams(thread_id=params.thread_id))
        assert thread.name == "early name"
        assert thread.preview == "hello"
        with pytest.raises(ThreadNotFound):
            await update(store, create_params().thread_id, name="x")

    async def test_derived_field_patches_are_applied(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, "original")
        patched = await update(store, thread_id, preview="custom preview", model="gpt-x")
        assert patched.preview == "custom preview"
        assert patched.model == "gpt-x"
        assert (await store.read_thread(ReadThreadParams(thread_id=thread_id))).preview == "custom preview"
        assert ThreadMetadataPatch().is_empty()
        unchanged = await update(store, thread_id)
        assert unchanged.preview == "custom preview"

    async def test_updates_keep_an_archived_thread_archived(self, store: ThreadStore) -> None:
        # A bug Codex had: reconciling a live thread resumed from the archive must not silently
        # unarchive it.
        thread_id = await new_thread(store)
        await store.archive_thread(thread_id)
        with pytest.raises(InvalidRequest, match="archived"):
            await update(store, thread_id, name="nope")
        await store.resume_thread(ResumeThreadParams(thread_id=thread_id, include_archived=True))
        renamed = await update(store, thread_id, include_archived=True, name="still archived")
        assert renamed.archived_at is not None
        await store.shutdown_thread(thread_id)
        with pytest.raises(InvalidRequest, match="archived"):
            await store.read_thread(ReadThreadParams(thread_id=thread_id))
        assert [t.thread_id for t in (await store.list_threads(ListThreadsParams(archived=True))).items] == [thread_id]

    async def test_archive_and_unarchive_errors(self, store: ThreadStore) -> None:
        missing = create_params().thread_id
        with pytest.raises(ThreadNotFound):
            await store.archive_thread(missing)
        with pytest.raises(ThreadNotFound):
            await store.unarchive_thread(missing)
        thread_id = await new_thread(store)
        with pytest.raises(InvalidRequest):
            await store.unarchive_thread(thread_id)
        await store.archive_thread(thread_id)
        with pytest.raises(InvalidRequest):
            await store.archive_thread(thread_id)

    async def test_delete(self, backend: Backend) -> None:
        store = await backend.open()
        keep = await new_thread(store, "keep me")
        doomed = await new_thread(store, "delete me")
        await update(store, doomed, name="Doomed")
        await store.delete_thread(doomed)
        with pytest.raises(ThreadNotFound):
            await store.read_thread(ReadThreadParams(thread_id=doomed, include_archived=True))
        with pytest.raises(ThreadNotFound, match=f"^thread {doomed} not found$"):
            await store.delete_thread(doomed)
        assert [t.thread_id for t in (await store.list_threads(ListThreadsParams())).items] == [keep]
        assert (await store.search_threads(SearchThreadsParams(search_term="delete"))).items == []
        reopened = await backend.open()
        with pytest.raises(ThreadNotFound):
            await reopened.read_thread(ReadThreadParams(thread_id=doomed, include_archived=True))
        archived = await new_thread(reopened, "archived then deleted")
        await reopened.archive_thread(archived)
        await reopened.delete_thread(archived)
        assert (await reopened.list_threads(ListThreadsParams(archived=True))).items == []

    async def test_delete_live_thread_releases_its_writer(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, shutdown=False)
        await store.delete_thread(thread_id)
        with pytest.raises(ThreadNotFound):
            await append(store, thread_id, turn("late"))
        # The id is free again.
        await store.create_thread(create_params(thread_id))
        await append(store, thread_id, turn("reborn"))
        await store.shutdown_thread(thread_id)
        assert (await store.read_thread(ReadThreadParams(thread_id=thread_id))).preview == "reborn"
