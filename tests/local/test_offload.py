"""The local store as a server opens it (``offload=True``): on a thread of its own, its syncs on
worker threads, so neither the caller's event loop nor the store's other clients wait for one
writer's disk."""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
from pathlib import Path

import pytest

from threadstore import (
    AppendThreadItemsParams,
    ListThreadsParams,
    ReadThreadParams,
    ThreadStore,
    items,
    open_store,
)
from threadstore._backends.shared.offload import OffloadedStore
from threadstore.testing import create_params, new_thread


def test_every_hook_of_the_contract_is_forwarded() -> None:
    hooks = {
        name
        for name, value in vars(ThreadStore).items()
        if name.startswith("_") and not name.startswith("__") and inspect.iscoroutinefunction(value)
    }
    assert hooks, "the contract has hooks"
    missing = sorted(name for name in hooks if name not in vars(OffloadedStore))
    assert not missing, f"OffloadedStore does not forward {missing}"


async def test_a_stalled_sync_holds_up_neither_the_event_loop_nor_other_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(f"local:{tmp_path / 'home'}", offload=True, fsync=True)
    assert isinstance(store, OffloadedStore)
    try:
        other = await new_thread(store, "another thread")
        params = create_params()
        await store.create_thread(params)
        await store.append_items(AppendThreadItemsParams(params.thread_id, [items.user_message("slow disk")]))
        entered, release = threading.Event(), threading.Event()
        real = os.fdatasync

        def stalled(fd: int) -> None:
            entered.set()
            release.wait(30)
            real(fd)

        monkeypatch.setattr(os, "fdatasync", stalled)
        flush = asyncio.ensure_future(store.flush_thread(params.thread_id))
        assert await asyncio.to_thread(entered.wait, 30), "the sync started"
        # The sync is stuck; the event loop runs (this line runs), and the store answers others.
        read = await asyncio.wait_for(store.read_thread(ReadThreadParams(other)), 10)
        page = await asyncio.wait_for(store.list_threads(ListThreadsParams()), 10)
        assert read.preview == "another thread"
        assert other in [t.thread_id for t in page.items]
        assert not flush.done()
        release.set()
        await asyncio.wait_for(flush, 30)
        monkeypatch.setattr(os, "fdatasync", real)
        await store.shutdown_thread(params.thread_id)
    finally:
        release.set()
        await store.close()


async def test_the_store_thread_ends_with_the_store(tmp_path: Path) -> None:
    before = {t.name for t in threading.enumerate()}
    store = open_store(f"local:{tmp_path / 'home'}", offload=True)
    await new_thread(store, "hello")
    await store.close()
    assert {t.name for t in threading.enumerate()} - before == set()
