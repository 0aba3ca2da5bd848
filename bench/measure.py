"""Timing and reporting helpers shared by every runner, ours and the anchors' (standard library only).

A runner is a process that runs one workload and prints one JSON object on stdout:
``{"metrics": {name: number}, "peak_rss_mb": number}``. One process per workload, so that the
peak resident set size (``ru_maxrss``) is that workload's own.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["emit", "peak_rss_mb", "time_async", "time_calls", "time_once"]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)


def time_once(fn: Callable[[], Any]) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def time_calls(fn: Callable[[], Any], *, runs: int, budget_s: float = 5.0, min_runs: int = 1) -> float:
    """Median seconds of up to ``runs`` calls; stops early once ``budget_s`` is spent (after at
    least ``min_runs``), so slow operations are not repeated for minutes."""
    times: list[float] = []
    spent = 0.0
    while len(times) < runs and (len(times) < min_runs or spent < budget_s):
        elapsed = time_once(fn)
        times.append(elapsed)
        spent += elapsed
    return statistics.median(times)


async def time_async(fn: Callable[[], Awaitable[Any]], *, runs: int, budget_s: float = 5.0, min_runs: int = 1) -> float:
    """``time_calls`` for a coroutine function."""
    times: list[float] = []
    spent = 0.0
    while len(times) < runs and (len(times) < min_runs or spent < budget_s):
        started = time.perf_counter()
        await fn()
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        spent += elapsed
    return statistics.median(times)


def emit(metrics: dict[str, float]) -> None:
    """Print a runner's result (the only thing a runner writes on stdout)."""
    print(json.dumps({"metrics": metrics, "peak_rss_mb": round(peak_rss_mb(), 1)}), flush=True)
