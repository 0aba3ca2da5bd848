"""Ephemeral threads and resumes: they run and read history, and the store keeps nothing of them."""

from __future__ import annotations

import pytest

from threadstore import ThreadStore
from threadstore._contract.listing import ListThreadsParams
from threadstore._contract.patch import ThreadMetadataPatch
from threadstore._contract.types import ReadThreadParams
from threadstore._runtime import BuiltinModel, ThreadConfig, ThreadManager
from threadstore.errors import InvalidRequest, ThreadNotFound

from ..support import collect_until, run_turn
from .helpers import history_of, request_texts


async def test_ephemeral_threads_persist_nothing(manager: ThreadManager, store: ThreadStore, cwd: str) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd, ephemeral=True))
    assert thread.ephemeral
    assert thread.rollout_path is None
    assert "rollout_path" not in thread.session_configured
    assert thread.config_snapshot().ephemeral
    await run_turn(thread, "secret")
    await run_turn(thread, "again")
    with pytest.raises((ThreadNotFound, InvalidRequest)):
        await store.read_thread(ReadThreadParams(thread.thread_id))
    await thread.submit({"type": "thread_rollback", "num_turns": 1})
    (error,) = await collect_until(thread, "error")
    assert "requires persisted thread history" in error.msg["message"]
    with pytest.raises(InvalidRequest, match="ephemeral"):
        await manager.read_thread(thread.thread_id, include_history=True)
    assert (await manager.read_thread(thread.thread_id)).cwd == cwd
    with pytest.raises(InvalidRequest, match="ephemeral"):
        await manager.fork_thread(thread.thread_id)
    with pytest.raises(InvalidRequest, match="ephemeral"):
        await manager.update_thread_metadata(thread.thread_id, ThreadMetadataPatch(name="x"))
    await thread.shutdown()
    listed = await store.list_threads(ListThreadsParams())
    assert thread.thread_id not in [t.thread_id for t in listed.items]


async def test_ephemeral_resume_reads_history_but_writes_nothing(
    manager: ThreadManager, store: ThreadStore, model: BuiltinModel, cwd: str
) -> None:
    thread = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(thread, "stored")
    await manager.remove_thread(thread.thread_id)
    before = await history_of(store, thread.thread_id)
    peek = await manager.resume_thread(thread.thread_id, ThreadConfig(cwd=cwd, ephemeral=True))
    assert peek.ephemeral
    await run_turn(peek, "not stored")
    assert request_texts(model.requests[-1]) == ["stored", "echo: stored", "not stored"]
    assert await history_of(store, thread.thread_id) == before
