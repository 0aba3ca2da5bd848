"""A store opened from a URL, living in an event loop of its own.

A store's connections belong to the event loop that opened them (a PostgreSQL pool, a gRPC
channel), but the Agents SDK calls a session from whatever loop runs the agent, and
``Runner.run_sync`` starts a new loop for every run. A session given a store URL therefore opens
the store in a private loop on a daemon thread, started on first use, and runs each operation
there: callers in any loop await the result. An operation, once submitted, runs to its end even
if its caller is cancelled. :meth:`StoreLoop.close` closes the store in its loop and ends the
thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from threadstore._backends.registry import open_store
from threadstore._contract.base import ThreadStore

__all__ = ["StoreLoop"]

T = TypeVar("T")


class StoreLoop:
    """The store ``url`` names (opened with ``options``), in its own loop and thread."""

    def __init__(self, url: str, options: Mapping[str, Any]) -> None:
        self._url = url
        self._options = dict(options)
        self._guard = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._store: ThreadStore | None = None

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._guard:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="threadstore-session-store", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    async def run(self, work: Callable[[ThreadStore], Coroutine[Any, Any, T]]) -> T:
        """Run ``work(store)`` in the store's loop and wait for it (from any loop)."""
        loop = self._started()

        async def call() -> T:
            if self._store is None:
                self._store = open_store(self._url, **self._options)
            return await work(self._store)

        future = asyncio.run_coroutine_threadsafe(call(), loop)
        return await asyncio.shield(asyncio.wrap_future(future))

    def close(self) -> None:
        """Close the store (if it was opened) and end the thread. Idempotent."""
        with self._guard:
            loop, thread, store = self._loop, self._thread, self._store
            self._loop = self._thread = self._store = None
        if loop is None or thread is None:
            return
        if store is not None:
            asyncio.run_coroutine_threadsafe(store.close(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
