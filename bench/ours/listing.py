"""Listing on homes of many threads: an indexed home (first call in a new process, warm, page 1
against page 100) and a home never indexed before (first page, full index, rebuild).

Homes are written by :mod:`bench.codex_home` (Codex 0.125 rollouts, 16 items per thread) and
prepared once per run; a prepared home has a ``<home>.ready`` marker beside it.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from threadstore import ListThreadsParams, SearchThreadsParams
from threadstore._backends.local import LocalThreadStore

from ..codex_home import write_home
from ..measure import time_async

__all__ = ["cold_home", "index_dir", "list_pages", "prepare_home"]

PAGE = 50


def index_dir(home: Path) -> Path:
    """Our own files in a home (the index and the writer locks): removing them makes the home
    one this library has never seen."""
    return home / ".threadstore"


async def prepare_home(home: Path, count: int, *, heavy: bool, index: bool) -> dict[str, Any]:
    """Write the home (once) and, with ``index``, build its index."""
    ready = home.with_name(home.name + ".ready")
    metrics: dict[str, Any] = {}
    if not ready.exists():
        if home.exists():
            shutil.rmtree(home)
        started = time.perf_counter()
        metrics["bytes"] = write_home(home, count, dataset=home.name, heavy=heavy)
        metrics["write_s"] = time.perf_counter() - started
        ready.write_text(str(count))
    if index and not index_dir(home).exists():
        started = time.perf_counter()
        store = LocalThreadStore(home)
        try:
            await store.list_threads(ListThreadsParams(page_size=PAGE))
            await _indexed(store)
        finally:
            await store.close()
        metrics["index_s"] = time.perf_counter() - started
    return metrics


async def list_pages(home: Path, *, deep: bool, runs: int = 30) -> dict[str, Any]:
    """A page of 50, newest first, on an indexed home: the first call of a new store in a new
    process, then warm; with ``deep``, page 100 (reached by following cursors) against page 1."""
    metrics: dict[str, Any] = {}
    started = time.perf_counter()
    store = LocalThreadStore(home)
    try:
        first = await store.list_threads(ListThreadsParams(page_size=PAGE))
        metrics["first_ms"] = (time.perf_counter() - started) * 1e3
        assert len(first.items) == PAGE

        async def page1() -> None:
            await store.list_threads(ListThreadsParams(page_size=PAGE))

        metrics["warm_ms"] = await time_async(page1, runs=runs) * 1e3
        if deep:
            cursor = first.next_cursor
            for _ in range(98):
                cursor = (await store.list_threads(ListThreadsParams(page_size=PAGE, cursor=cursor))).next_cursor
            assert cursor is not None

            async def page100() -> None:
                page = await store.list_threads(ListThreadsParams(page_size=PAGE, cursor=cursor))
                assert len(page.items) == PAGE

            metrics["page100_ms"] = await time_async(page100, runs=runs) * 1e3
    finally:
        await store.close()
    return metrics


async def _cold_first_page(home: Path) -> tuple[float, float, float]:
    """Open a never-indexed home and list its first page; then a page while the home is still
    being indexed; then, once it is indexed, warm pages. Seconds: (first page, the page during
    indexing, median warm page)."""
    shutil.rmtree(index_dir(home), ignore_errors=True)
    started = time.perf_counter()
    store = LocalThreadStore(home)
    try:
        page = await store.list_threads(ListThreadsParams(page_size=PAGE))
        first = time.perf_counter() - started
        assert len(page.items) == PAGE
        started = time.perf_counter()
        again = await store.list_threads(ListThreadsParams(page_size=PAGE))
        during = time.perf_counter() - started
        assert again.items == page.items
        await _indexed(store)

        async def warm() -> None:
            await store.list_threads(ListThreadsParams(page_size=PAGE))

        warm_s = await time_async(warm, runs=30)
    finally:
        await store.close()
    return first, during, warm_s


async def _indexed(store: LocalThreadStore) -> None:
    """Wait until the store's background indexing (rows, then the trigram index) is over."""
    await store._catalog.settle()


async def _full_index(home: Path, search_term: str) -> tuple[float, float]:
    """Seconds from opening a never-indexed home until a query that needs every thread (a search
    for a term found in one thread) is answered, and until the index is complete (its trigram
    index too: until then searches scan the texts not in it yet)."""
    shutil.rmtree(index_dir(home), ignore_errors=True)
    started = time.perf_counter()
    store = LocalThreadStore(home)
    try:
        found = await store.search_threads(SearchThreadsParams(search_term))
        assert found.items, f"{search_term!r} not found"
        searched = time.perf_counter() - started
        await _indexed(store)
        return searched, time.perf_counter() - started
    finally:
        await store.close()


async def _rebuild(home: Path) -> float:
    """Seconds ``reindex()`` takes on a never-indexed home."""
    shutil.rmtree(index_dir(home), ignore_errors=True)
    store = LocalThreadStore(home)
    try:
        started = time.perf_counter()
        await store.reindex()
        return time.perf_counter() - started
    finally:
        await store.close()


async def cold_home(home: Path, *, rare_term: str, runs: int) -> dict[str, Any]:
    """First page on a home never indexed (``runs`` times, each on a home without our files), a
    page while it is being indexed, warm pages once it is, the full index time, and a rebuild.
    Peak memory of the worker processes that read rollouts for the index is reported too."""
    firsts, durings, warms, fulls, completes = [], [], [], [], []
    for _ in range(runs):
        first, during, warm = await _cold_first_page(home)
        firsts.append(first)
        durings.append(during)
        warms.append(warm)
        full, complete = await _full_index(home, rare_term)
        fulls.append(full)
        completes.append(complete)
    rebuild = await _rebuild(home)
    metrics: dict[str, Any] = {
        "first_page_ms": _median(firsts) * 1e3,
        "during_ms": _median(durings) * 1e3,
        "warm_ms": _median(warms) * 1e3,
        "full_index_s": _median(fulls),
        "complete_index_s": _median(completes),
        "rebuild_s": rebuild,
    }
    worker_rss = _worker_peak_rss_mb(home)
    if worker_rss:
        metrics["workers_peak_rss_mb"] = worker_rss
    return metrics


def _worker_peak_rss_mb(home: Path) -> float:
    """Peak memory of one index worker process reading every rollout of ``home`` (its
    ``VmHWM``; 0 where /proc is not there). The figure a fill's workers each reach."""
    from threadstore._backends.local.scanner import list_rollouts
    from threadstore._backends.local.workers import Job, Worker

    jobs = [
        Job(path, thread_id, False, None, None)
        for day in sorted((home / "sessions").glob("*/*/*"))
        for path, thread_id in (list_rollouts(str(day)) or {}).items()
    ]
    worker = Worker("openai")
    try:
        for start in range(0, len(jobs), 96):
            worker.send(start, jobs[start : start + 96])
            while worker.pending:
                worker.receive()
        status = Path(f"/proc/{worker._proc.pid}/status")
        lines = status.read_text().splitlines() if status.exists() else []
        return next((int(line.split()[1]) / 1024 for line in lines if line.startswith("VmHWM:")), 0.0)
    finally:
        worker.close()


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]
