"""Shutting many threads down at once, each within a time limit, and what came of it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from threadstore._runtime.thread import Thread

__all__ = ["ThreadShutdownReport", "shut_down"]

logger: Final = logging.getLogger("threadstore.runtime")


@dataclass(frozen=True)
class ThreadShutdownReport:
    """What :meth:`~threadstore.ThreadManager.shutdown_all` achieved (ids sorted)."""

    completed: list[str]
    timed_out: list[str]
    failed: list[str]

    @property
    def all_stopped(self) -> bool:
        return not self.timed_out and not self.failed


async def shut_down(threads: Sequence[tuple[str, Thread]], timeout: float) -> ThreadShutdownReport:  # noqa: ASYNC109
    """Shut ``threads`` (id, thread) down concurrently, each within ``timeout`` seconds; a thread
    whose persistence did not shut down cleanly is logged and reported ``failed``."""

    async def one(thread: Thread) -> str:
        try:
            await asyncio.wait_for(thread.shutdown(), timeout)
        except TimeoutError:
            return "timed_out"
        except Exception as exc:  # reported
            logger.warning("thread %s did not shut down cleanly: %s", thread.thread_id, exc)
            return "failed"
        return "completed"

    outcomes = await asyncio.gather(*(one(t) for _, t in threads))
    report: dict[str, list[str]] = {"completed": [], "timed_out": [], "failed": []}
    for (thread_id, _), outcome in zip(threads, outcomes, strict=True):
        report[outcome].append(thread_id)
    return ThreadShutdownReport(
        completed=sorted(report["completed"]),
        timed_out=sorted(report["timed_out"]),
        failed=sorted(report["failed"]),
    )
