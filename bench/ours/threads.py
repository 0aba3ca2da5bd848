"""One long thread (read, resume, fork, storage) and full-text search over many threads."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import orjson

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    LoadThreadHistoryParams,
    ReadThreadParams,
    SearchThreadsParams,
    ThreadManager,
    items,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore

from ..corpus import item_pairs, turn
from ..measure import time_async

__all__ = ["fork_long", "long_thread_items", "read_long", "search", "search_terms", "storage"]

COMMON_TERM = "journal"
"""A word found in most threads' texts."""


def long_thread_items(count: int) -> list[dict[str, Any]]:
    """The ``count`` model-visible messages of the long thread (what ``SQLiteSession`` stores)."""
    return [
        items.user_response_message(text) if role == "user" else items.assistant_message(text)
        for role, text in item_pairs(count)
    ]


async def _write_long(store: LocalThreadStore, count: int) -> tuple[str, int]:
    """Write the long thread in batches of 100; return its id and the items' JSON size."""
    tid = new_thread_id()
    await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/bench", model_provider="openai"))
    history = long_thread_items(count)
    for start in range(0, count, 100):
        await store.append_items(AppendThreadItemsParams(tid, history[start : start + 100]))
    await store.shutdown_thread(tid)
    return tid, sum(len(orjson.dumps(i)) for i in history)


def _rollout(home: Path, tid: str) -> Path:
    return next((home / "sessions").rglob(f"*{tid}.jsonl"))


async def read_long(work: Path, count: int, runs: int = 7) -> dict[str, Any]:
    """Read a ``count``-item thread (``load_history``, ``read_thread`` with history) and resume it
    through ``ThreadManager`` (history rebuilt, a live writer opened, then removed); the raw
    baseline is reading the file and parsing its lines with orjson."""
    home = work / "read"
    store = LocalThreadStore(home)
    try:
        tid, _ = await _write_long(store, count)
        path = _rollout(home, tid)

        async def load() -> None:
            history = await store.load_history(LoadThreadHistoryParams(tid))
            assert len(history.items) >= count

        async def read() -> None:
            await store.read_thread(ReadThreadParams(tid, include_history=True))

        async def raw() -> None:
            [orjson.loads(line) for line in path.read_bytes().split(b"\n") if line]

        manager = ThreadManager(store)

        async def resume() -> None:
            thread = await manager.resume_thread(tid)
            await manager.remove_thread(thread.thread_id)

        return {
            "load_history_ms": await time_async(load, runs=runs) * 1e3,
            "read_thread_ms": await time_async(read, runs=runs) * 1e3,
            "resume_ms": await time_async(resume, runs=runs) * 1e3,
            "raw_parse_ms": await time_async(raw, runs=runs) * 1e3,
        }
    finally:
        await store.close()


async def fork_long(work: Path, count: int, runs: int = 7) -> dict[str, Any]:
    """Fork a ``count``-item thread through ``ThreadManager.fork_thread``, until the fork is
    persisted and unloaded (``remove_thread``)."""
    home = work / "fork"
    store = LocalThreadStore(home)
    try:
        tid, _ = await _write_long(store, count)
        manager = ThreadManager(store)

        async def fork() -> None:
            thread = await manager.fork_thread(tid)
            await manager.remove_thread(thread.thread_id)

        return {"fork_ms": await time_async(fork, runs=runs) * 1e3}
    finally:
        await store.close()


async def storage(work: Path, count: int) -> dict[str, Any]:
    """Bytes on disk per byte of the items' JSON: the rollout alone and the whole home (with the
    index and its full-text tables)."""
    home = work / f"storage-{count}"
    store = LocalThreadStore(home)
    try:
        tid, payload = await _write_long(store, count)
    finally:
        await store.close()
    rollout = _rollout(home, tid).stat().st_size
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(home) for f in files)
    return {"payload_bytes": payload, "rollout_ratio": rollout / payload, "home_ratio": total / payload}


def search_terms(dataset: str, count: int) -> tuple[str, str]:
    """A term found in one thread of a home written by ``bench.codex_home`` (the start of a
    prompt), and a term found in most."""
    n = count // 2 + 1
    seed = f"{dataset}/{n}"
    return turn(seed).prompt[: len(seed) + 20].strip(), COMMON_TERM


async def search(home: Path, dataset: str, count: int, runs: int = 10) -> dict[str, Any]:
    """Full-text search on an indexed home: a term in one thread, and a term in most."""
    rare, common = search_terms(dataset, count)
    store = LocalThreadStore(home)
    try:

        async def one(term: str) -> None:
            page = await store.search_threads(SearchThreadsParams(term))
            assert page.items, f"{term!r} not found"

        started = time.perf_counter()
        await one(rare)
        first = time.perf_counter() - started
        return {
            "first_ms": first * 1e3,
            "rare_ms": await time_async(lambda: one(rare), runs=runs) * 1e3,
            "common_ms": await time_async(lambda: one(common), runs=runs) * 1e3,
        }
    finally:
        await store.close()
