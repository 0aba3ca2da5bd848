"""The mirror's queue of threads to look at: each thread at most once, fresh changes first.

It holds thread keys, never lines (the lines stay in the rollouts until they are sent), so it
is bounded by the number of threads in the homes however long the target is away: a thread
written to a thousand times while the target is down is queued once.

``hot`` keys (a change just reported) are taken before ``cold`` ones (the backlog of a first
look at a home), so a thread being written while the mirror catches up is not kept waiting
behind thousands of old ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["WorkQueue"]

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    """Keys to work on (see the module documentation); :meth:`drained` waits until nothing
    is queued, held (scheduled for later) or being worked on."""

    def __init__(self) -> None:
        self._hot: dict[K, None] = {}
        self._cold: dict[K, None] = {}
        self._busy = 0
        self._held = 0
        self._closed = False
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def __len__(self) -> int:
        return len(self._hot) + len(self._cold)

    def put(self, key: K, *, hot: bool = True) -> None:
        """Queue ``key`` (once: a key already queued keeps its place, or moves up to hot)."""
        if self._closed:
            return
        if hot:
            self._cold.pop(key, None)
            self._hot[key] = None
        elif key not in self._hot:
            self._cold[key] = None
        self._ready.set()
        self._idle.clear()

    def hold(self) -> None:
        """Count a key scheduled to be put back later (a retry) as pending work."""
        self._held += 1
        self._idle.clear()

    def release(self, key: K | None, *, hot: bool = True) -> None:
        """A held key is due: put it back (None: it is not needed any more)."""
        self._held -= 1
        if key is not None:
            self.put(key, hot=hot)
        self._check_idle()

    async def get(self) -> K | None:
        """The next key (None once the queue is closed)."""
        while True:
            if self._closed:
                return None
            for queue in (self._hot, self._cold):
                if queue:
                    key = next(iter(queue))
                    del queue[key]
                    self._busy += 1
                    return key
            self._ready.clear()
            await self._ready.wait()

    def done(self) -> None:
        """The key last taken by a worker is finished."""
        self._busy -= 1
        self._check_idle()

    def _check_idle(self) -> None:
        if not self._hot and not self._cold and not self._busy and not self._held:
            self._idle.set()

    async def drained(self) -> None:
        """Wait until nothing is queued, held or being worked on."""
        while True:
            await self._idle.wait()
            if not self._hot and not self._cold and not self._busy and not self._held:
                return
            self._idle.clear()

    def close(self) -> None:
        """Stop handing out keys (workers get None)."""
        self._closed = True
        self._ready.set()
