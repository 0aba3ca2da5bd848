"""Metadata updates through the manager, on live and cold threads, archived ones included."""

from __future__ import annotations

from threadstore import ThreadStore
from threadstore._contract.listing import ListThreadsParams
from threadstore._contract.patch import ThreadMetadataPatch
from threadstore._contract.types import ReadThreadParams
from threadstore._runtime import ThreadConfig, ThreadManager

from ..support import run_turn


async def test_update_thread_metadata_live_and_cold(manager: ThreadManager, store: ThreadStore, cwd: str) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "name me")
    live = await manager.update_thread_metadata(thread.thread_id, ThreadMetadataPatch(name="Live name"))
    assert live.name == "Live name"
    assert live.preview == "name me"
    await thread.shutdown()
    cold = await manager.update_thread_metadata(thread.thread_id, ThreadMetadataPatch(name="Cold name"))
    assert cold.name == "Cold name"
    assert (await store.read_thread(ReadThreadParams(thread.thread_id))).name == "Cold name"


async def test_archived_flag_is_preserved_across_resume_and_updates(
    manager: ThreadManager, store: ThreadStore, cwd: str
) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "old work")
    await thread.shutdown()
    await store.archive_thread(thread.thread_id)
    resumed = await manager.resume_thread(thread.thread_id)
    await run_turn(resumed, "more old work")
    await manager.update_thread_metadata(thread.thread_id, ThreadMetadataPatch(name="Still archived"))
    await resumed.shutdown()
    await manager.update_thread_metadata(thread.thread_id, ThreadMetadataPatch(memory_mode="disabled"))
    stored = await store.read_thread(ReadThreadParams(thread.thread_id, include_archived=True))
    assert stored.archived_at is not None
    assert stored.name == "Still archived"
    archived = await store.list_threads(ListThreadsParams(archived=True))
    assert [t.thread_id for t in archived.items] == [thread.thread_id]
    active = await store.list_threads(ListThreadsParams())
    assert thread.thread_id not in [t.thread_id for t in active.items]
