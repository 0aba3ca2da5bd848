"""Metadata patches of derived facts do not hide what the rollout says (review of the local store)."""

from __future__ import annotations

from pathlib import Path

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    ReadThreadParams,
    ResumeThreadParams,
    ThreadMetadataPatch,
    TokenUsage,
    UpdateThreadMetadataParams,
    items,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore

USAGE_1 = {
    "input_tokens": 10,
    "cached_input_tokens": 0,
    "output_tokens": 5,
    "reasoning_output_tokens": 0,
    "total_tokens": 15,
}
USAGE_2 = {
    "input_tokens": 30,
    "cached_input_tokens": 0,
    "output_tokens": 9,
    "reasoning_output_tokens": 0,
    "total_tokens": 39,
}


async def _thread(store: LocalThreadStore) -> str:
    tid = new_thread_id()
    await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
    await store.append_items(AppendThreadItemsParams(tid, [items.user_message("hi"), items.token_count(USAGE_1)]))
    return tid


async def test_patches_repeating_derived_facts_store_nothing(tmp_path: Path) -> None:
    store = LocalThreadStore(tmp_path / "home")
    try:
        tid = await _thread(store)
        patch = ThreadMetadataPatch(preview="hi", first_user_message="hi", token_usage=TokenUsage(**USAGE_1))
        await store.update_thread_metadata(UpdateThreadMetadataParams(tid, patch))
        assert store._catalog.index.overrides(tid).is_empty()
        # A later append (by this store or any other program) shows through.
        await store.append_items(AppendThreadItemsParams(tid, [items.token_count(USAGE_2)]))
        await store.shutdown_thread(tid)
        thread = await store.read_thread(ReadThreadParams(tid))
        assert thread.token_usage == TokenUsage(**USAGE_2)
    finally:
        await store.close()


async def test_explicit_overrides_stay_until_patched_back(tmp_path: Path) -> None:
    store = LocalThreadStore(tmp_path / "home")
    try:
        tid = await _thread(store)
        await store.update_thread_metadata(UpdateThreadMetadataParams(tid, ThreadMetadataPatch(preview="custom")))
        await store.shutdown_thread(tid)
        reopened = LocalThreadStore(tmp_path / "home")
        try:
            assert (await reopened.read_thread(ReadThreadParams(tid))).preview == "custom"
            await reopened.resume_thread(ResumeThreadParams(tid))
            await reopened.append_items(AppendThreadItemsParams(tid, [items.user_message("second")]))
            assert (await reopened.read_thread(ReadThreadParams(tid))).preview == "custom"
            back = await reopened.update_thread_metadata(
                UpdateThreadMetadataParams(tid, ThreadMetadataPatch(preview="hi"))
            )
            assert back.preview == "hi"
            assert reopened._catalog.index.overrides(tid).is_empty()
            await reopened.shutdown_thread(tid)
        finally:
            await reopened.close()
    finally:
        await store.close()
