"""Measure the local store: appends (durable and not), reads, listing, search and storage.

    .venv/bin/python -m bench.local [--threads N] [--items N] [--json]

Every figure is measured in the same run as its physical baseline (raw ``write(2)`` +
``fsync(2)`` on the same disk, raw orjson parsing of the same file), because absolute numbers on
a shared 2-core machine drift from run to run: compare ratios. Each timing is the median of
several repetitions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    ListThreadsParams,
    LoadThreadHistoryParams,
    SearchThreadsParams,
    items,
    new_thread_id,
)
from threadstore.store.local import LocalThreadStore

MESSAGE = "x" * 400


async def _median(fn: Callable[[], Awaitable[None]], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def _durable_vs_raw(directory: Path, count: int) -> tuple[float, float]:
    """Durable appends per second (append + flush, ``fsync=True``) and raw write+fsync appends per
    second on the same disk, interleaved one by one so that both see the same disk state."""
    store = LocalThreadStore(directory / "durable", fsync=True, collect_git_info=False)
    raw_path = directory / "raw-baseline"
    fd = os.open(raw_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        tid = new_thread_id()
        await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/bench", model_provider="bench"))
        item = items.agent_message(MESSAGE)
        line = orjson.dumps(item) + b"\n"
        await store.append_items(AppendThreadItemsParams(tid, [item]))
        await store.flush_thread(tid)  # the file and its directory exist from here on
        ours = raw = 0.0
        for _ in range(count):
            started = time.perf_counter()
            await store.append_items(AppendThreadItemsParams(tid, [item]))
            await store.flush_thread(tid)
            middle = time.perf_counter()
            os.write(fd, line)
            os.fsync(fd)
            raw += time.perf_counter() - middle
            ours += middle - started
        await store.shutdown_thread(tid)
        return count / ours, count / raw
    finally:
        os.close(fd)
        await store.close()


async def _appends(home: Path, count: int) -> float:
    store = LocalThreadStore(home, collect_git_info=False)
    try:
        tid = new_thread_id()
        await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/bench", model_provider="bench"))
        item = items.agent_message(MESSAGE)
        started = time.perf_counter()
        for _ in range(count):
            await store.append_items(AppendThreadItemsParams(tid, [item]))
            await store.flush_thread(tid)
        rate = count / (time.perf_counter() - started)
        await store.shutdown_thread(tid)
        return rate
    finally:
        await store.close()


async def run(threads: int, history_items: int) -> dict[str, Any]:
    results: dict[str, Any] = {"threads": threads, "history_items": history_items}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        base = Path(tmp)
        ours, raw = await _durable_vs_raw(base, 600)
        results["durable_append_per_s"] = ours
        results["raw_append_fsync_per_s"] = raw
        results["durable_vs_raw"] = results["durable_append_per_s"] / results["raw_append_fsync_per_s"]
        results["append_flush_per_s"] = statistics.median([await _appends(base / f"fast-{r}", 3000) for r in range(3)])

        home = base / "home"
        store = LocalThreadStore(home, collect_git_info=False)
        try:
            big = new_thread_id()
            await store.create_thread(CreateThreadParams(thread_id=big, cwd="/bench", model_provider="bench"))
            batch = [items.user_message(MESSAGE), items.agent_message(MESSAGE)] * 50
            json_bytes = 0
            for _ in range(history_items // len(batch)):
                await store.append_items(AppendThreadItemsParams(big, batch))
                json_bytes += sum(len(orjson.dumps(i)) for i in batch)
            await store.shutdown_thread(big)
            rollout = next((home / "sessions").rglob(f"*{big}.jsonl"))
            data = rollout.read_bytes()

            async def read() -> None:
                await store.load_history(LoadThreadHistoryParams(big))

            async def raw_parse() -> None:
                [orjson.loads(line) for line in data.split(b"\n") if line]

            async def stdlib_parse() -> None:
                [json.loads(line) for line in data.split(b"\n") if line]

            results["read_ms"] = await _median(read, 7) * 1e3
            results["orjson_parse_ms"] = await _median(raw_parse, 7) * 1e3
            results["stdlib_json_parse_ms"] = await _median(stdlib_parse, 3) * 1e3
            results["rollout_bytes_per_item_json_byte"] = len(data) / json_bytes

            started = time.perf_counter()
            for n in range(threads):
                tid = new_thread_id()
                await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/bench", model_provider="bench"))
                await store.append_items(
                    AppendThreadItemsParams(
                        tid, [items.user_message(f"question {n}"), items.agent_message(f"answer {n}")]
                    )
                )
                await store.shutdown_thread(tid)
            results["create_thread_ms"] = (time.perf_counter() - started) / max(threads, 1) * 1e3

            first = await store.list_threads(ListThreadsParams())

            async def page() -> None:
                await store.list_threads(ListThreadsParams())

            async def page_updated() -> None:
                await store.list_threads(ListThreadsParams(sort_key="updated_at"))

            async def page_two() -> None:
                await store.list_threads(ListThreadsParams(cursor=first.next_cursor))

            async def search_rare() -> None:
                await store.search_threads(SearchThreadsParams(f"question {threads // 2}"))

            async def search_common() -> None:
                await store.search_threads(SearchThreadsParams("answer"))

            results["list_page_ms"] = await _median(page, 30) * 1e3
            results["list_page_updated_ms"] = await _median(page_updated, 30) * 1e3
            results["list_page_two_ms"] = await _median(page_two, 30) * 1e3
            results["search_rare_ms"] = await _median(search_rare, 10) * 1e3
            results["search_common_ms"] = await _median(search_common, 10) * 1e3
        finally:
            await store.close()

        reopened = LocalThreadStore(home)
        try:
            started = time.perf_counter()
            await reopened.list_threads(ListThreadsParams())
            results["new_store_first_page_ms"] = (time.perf_counter() - started) * 1e3
        finally:
            await reopened.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=10_000, help="items in the thread that is read back")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    print_results(asyncio.run(run(args.threads, args.items)), as_json=args.json)


def print_results(results: dict[str, Any], *, as_json: bool) -> None:
    """One JSON object, or one aligned ``name  value`` line per figure."""
    if as_json:
        print(json.dumps(results))
        return
    width = max(map(len, results))
    for key, value in results.items():
        shown = f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
        print(f"{key:<{width}}  {shown}")


if __name__ == "__main__":
    main()
