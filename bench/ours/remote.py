"""The remote store: one append round trip, and 16 concurrent writers, beside the local store.

A real ``threadstore serve`` process (on a local store in the work directory, listening on a
loopback port) is driven by ``RemoteThreadStore`` clients; the same writers then run against an
in-process ``LocalThreadStore`` for the figure beside it. The server is ended by its pid when the
workload ends. (The PostgreSQL backend does not exist yet.)
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from threadstore import AppendThreadItemsParams, CreateThreadParams, ThreadStore, items, new_thread_id
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.remote.client import RemoteThreadStore

from ..measure import time_async
from .appends import MESSAGE

__all__ = ["remote_writers"]


@contextmanager
def _server(home: Path) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "threadstore._server", "--listen", "127.0.0.1:0", "--store", f"local:{home}", "--quiet"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"server did not start: {line!r} {process.stderr.read() if process.stderr else ''}")
        yield line.split()[-1]
    finally:
        process.kill()
        process.communicate(timeout=10)


async def _writers(store: ThreadStore, writers: int, appends: int) -> float:
    """Items per second with ``writers`` threads appending one item + flush ``appends`` times each."""
    item = items.agent_message(MESSAGE)

    async def one() -> None:
        tid = new_thread_id()
        await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/bench", model_provider="openai"))
        for _ in range(appends):
            await store.append_items(AppendThreadItemsParams(tid, [item]))
            await store.flush_thread(tid)
        await store.shutdown_thread(tid)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(writers)))
    return writers * appends / (time.perf_counter() - started)


async def remote_writers(work: Path, writers: int, appends: int) -> dict[str, Any]:
    """One append + flush round trip (median), and ``writers`` concurrent writers, remote and local."""
    metrics: dict[str, Any] = {}
    with _server(work / "served") as address:
        store = RemoteThreadStore(f"grpc://{address}")
        try:
            tid = new_thread_id()
            await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/bench", model_provider="openai"))
            item = items.agent_message(MESSAGE)

            async def round_trip() -> None:
                await store.append_items(AppendThreadItemsParams(tid, [item]))
                await store.flush_thread(tid)

            metrics["remote_round_trip_ms"] = await time_async(round_trip, runs=200) * 1e3
            await store.shutdown_thread(tid)
            metrics["remote_writers_items_per_s"] = await _writers(store, writers, appends)
        finally:
            await store.close()
    local = LocalThreadStore(work / "local-writers")
    try:
        metrics["local_writers_items_per_s"] = await _writers(local, writers, appends)
    finally:
        await local.close()
    return metrics
