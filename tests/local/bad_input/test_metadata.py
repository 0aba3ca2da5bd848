"""Metadata updates: bad ones change nothing, a session_meta of several megabytes can be amended."""

from __future__ import annotations

from pathlib import Path

import pytest

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    GitInfoPatch,
    InvalidRequest,
    ListThreadsParams,
    ReadThreadParams,
    ResourceExhausted,
    ThreadMetadataPatch,
    UpdateThreadMetadataParams,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._rollout.items import user_message

from .helpers import refused


async def test_bad_metadata_updates_change_nothing(home: Path, store: LocalThreadStore) -> None:
    cold = (await store.list_threads(ListThreadsParams())).items[0].thread_id
    await refused(
        home,
        lambda: store.update_thread_metadata(UpdateThreadMetadataParams(cold, ThreadMetadataPatch(name="y" * 70_000))),
        ResourceExhausted,
    )
    await refused(
        home,
        lambda: store.update_thread_metadata(UpdateThreadMetadataParams(cold, ThreadMetadataPatch(name="half \ud800"))),
    )
    with pytest.raises(InvalidRequest):
        ThreadMetadataPatch(name=42)  # type: ignore[arg-type]
    assert (await store.read_thread(ReadThreadParams(cold))).name is None


async def test_a_session_meta_of_several_megabytes_can_be_amended(tmp_path: Path) -> None:
    store = LocalThreadStore(tmp_path / "home")
    try:
        tid = new_thread_id()
        instructions = "follow these rules. " * (5 * 1024 * 1024 // 20)  # 5 MiB of base instructions
        await store.create_thread(
            CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p", base_instructions=instructions)
        )
        await store.append_items(AppendThreadItemsParams(tid, [user_message("hi")]))
        await store.shutdown_thread(tid)
        patch = ThreadMetadataPatch(memory_mode="disabled", git_info=GitInfoPatch(branch="main"))
        thread = await store.update_thread_metadata(UpdateThreadMetadataParams(tid, patch))
        assert thread.memory_mode == "disabled"
        assert thread.git_info is not None
        assert thread.git_info.branch == "main"
    finally:
        await store.close()
