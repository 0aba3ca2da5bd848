"""Appends to the local store, each against the raw disk measured in the same run.

The raw baselines are what the disk itself can do for the same bytes: ``write(2)`` + ``fsync(2)``
of one line (the physical limit of a durable single append) and ``write(2)`` of the same batch of
lines into an ``O_APPEND`` file (the bandwidth limit of batched appends). Ours and raw are
interleaved call by call, so that both see the same disk state and the same neighbours on a
shared machine: compare the ratios, not the absolute numbers.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

import orjson

from threadstore import AppendThreadItemsParams, CreateThreadParams, items, new_thread_id
from threadstore._backends.local import LocalThreadStore

from ..corpus import message_text

__all__ = ["append_batch", "append_durable", "append_fast"]

MESSAGE = message_text("append")


async def _new_thread(store: LocalThreadStore) -> str:
    tid = new_thread_id()
    await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/bench", model_provider="openai"))
    await store.append_items(AppendThreadItemsParams(tid, [items.user_message("first")]))
    await store.flush_thread(tid)  # the file and its directory exist from here on
    return tid


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def append_durable(work: Path, count: int) -> dict[str, Any]:
    """Durable single appends (append + flush, ``fsync=True``), interleaved one by one with a raw
    ``write`` + ``fsync`` of the same line on the same disk."""
    store = LocalThreadStore(work / "durable", fsync=True)
    fd = os.open(work / "raw-fsync", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        tid = await _new_thread(store)
        item = items.agent_message(MESSAGE)
        line = orjson.dumps(item) + b"\n"
        ours: list[float] = []
        raw: list[float] = []
        for _ in range(count):
            started = time.perf_counter()
            await store.append_items(AppendThreadItemsParams(tid, [item]))
            await store.flush_thread(tid)
            middle = time.perf_counter()
            os.write(fd, line)
            os.fsync(fd)
            raw.append(time.perf_counter() - middle)
            ours.append(middle - started)
        await store.shutdown_thread(tid)
    finally:
        os.close(fd)
        await store.close()
    return {
        "ours_per_s": count / sum(ours),
        "raw_per_s": count / sum(raw),
        "ours_p50_ms": statistics.median(ours) * 1e3,
        "ours_p95_ms": _percentile(ours, 0.95) * 1e3,
        "raw_p50_ms": statistics.median(raw) * 1e3,
    }


async def append_fast(work: Path, count: int, rounds: int = 3) -> dict[str, Any]:
    """Single appends with ``fsync=False`` (append + flush: the data is in the operating system
    when flush returns); the median of ``rounds`` runs."""
    rates = []
    item = items.agent_message(MESSAGE)
    for r in range(rounds):
        store = LocalThreadStore(work / f"fast-{r}")
        try:
            tid = await _new_thread(store)
            started = time.perf_counter()
            for _ in range(count):
                await store.append_items(AppendThreadItemsParams(tid, [item]))
                await store.flush_thread(tid)
            rates.append(count / (time.perf_counter() - started))
            await store.shutdown_thread(tid)
        finally:
            await store.close()
    return {"ours_per_s": statistics.median(rates)}


async def append_batch(work: Path, batches: int, batch_size: int) -> dict[str, Any]:
    """Batched appends (``batch_size`` items per call, then flush; ``fsync=False``) interleaved
    with a raw ``write`` of the same serialized batch into an ``O_APPEND`` file."""
    store = LocalThreadStore(work / "batch")
    fd = os.open(work / "raw-batch", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        tid = await _new_thread(store)
        batch = [items.user_message(MESSAGE) if i % 2 == 0 else items.agent_message(MESSAGE) for i in range(batch_size)]
        data = b"".join(orjson.dumps(i) + b"\n" for i in batch)
        ours = raw = 0.0
        for _ in range(batches):
            started = time.perf_counter()
            await store.append_items(AppendThreadItemsParams(tid, batch))
            await store.flush_thread(tid)
            middle = time.perf_counter()
            os.write(fd, data)
            raw += time.perf_counter() - middle
            ours += middle - started
        await store.shutdown_thread(tid)
    finally:
        os.close(fd)
        await store.close()
    total = batches * len(data)
    return {
        "ours_items_per_s": batches * batch_size / ours,
        "ours_mb_per_s": total / ours / 1e6,
        "raw_mb_per_s": total / raw / 1e6,
    }
