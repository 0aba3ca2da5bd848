"""asyncio helpers shared by every layer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["run_detached"]

T = TypeVar("T")

_background: set[asyncio.Task[Any]] = set()


async def run_detached(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` in its own task and wait for it. If the caller is cancelled the work still
    runs to completion (its result or error is then dropped)."""
    task = asyncio.ensure_future(work())
    _background.add(task)
    task.add_done_callback(_background.discard)
    return await asyncio.shield(task)
