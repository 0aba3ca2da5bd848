"""The server's memory budget for answers: what the answers being built and the answers its
clients have not read yet may hold.

A gRPC server keeps an answer in memory until its client has read it, and an answer with a whole
history (``LoadHistory``, ``ReadThread`` with history) takes several times its size to build. So:

* **Building**: at most :attr:`~.limits.AnswerLimits.history_builds` history answers are built at
  once (others wait for their turn), one at a time per connection, and a connection whose earlier
  answers are still unread beyond its share waits before it may build another.
* **Unread answers**: every answer of more than :data:`SMALL_ANSWER` bytes counts against
  ``max_unread_bytes`` for the whole server and ``per_connection_bytes`` for its connection until
  its client has read it (the call is over); it waits until both have room (an answer larger
  than the room left still goes out once the server has nothing else unread, or the connection
  is within its share). So a connection holds at most its share and one answer unread.
* **Waiting** is bounded: a call that cannot get its turn or its bytes within
  :attr:`~.limits.AnswerLimits.wait` seconds fails with ``ResourceExhausted`` (the client may retry).

A connection that stops reading holds what it was already sent (at most its share) until the
transport's keepalive notices that its client no longer answers pings and closes it
(:mod:`threadstore._server.app`); meanwhile other clients are answered from the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Final

from threadstore._server.limits import AnswerLimits
from threadstore.errors import ResourceExhausted

__all__ = ["SMALL_ANSWER", "AnswerBudget"]

#: Answers up to this size are not counted (most are a few hundred bytes).
SMALL_ANSWER: Final = 64 * 1024


class AnswerBudget:
    """Keeps :class:`~.limits.AnswerLimits` for one server (one event loop)."""

    def __init__(self, limits: AnswerLimits) -> None:
        self.limits = limits
        self.unread = 0
        self._by_peer: dict[str, int] = {}
        self._changed = asyncio.Condition()
        self._builds = asyncio.Semaphore(limits.history_builds)
        #: Each connection builds one history at a time: (its lock, calls using it).
        self._peer_builds: dict[str, tuple[asyncio.Lock, int]] = {}
        self._notices: set[asyncio.Task[None]] = set()

    def unread_of(self, peer: str) -> int:
        return self._by_peer.get(peer, 0)

    async def _wait_for(self, ready: Callable[[], bool], what: str) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(ready), self.limits.wait)
            except TimeoutError:
                raise ResourceExhausted(f"the server is busy: {what} (try again later)") from None

    async def _acquire(self, lock: asyncio.Semaphore | asyncio.Lock, what: str) -> None:
        try:
            await asyncio.wait_for(lock.acquire(), self.limits.wait)
        except TimeoutError:
            raise ResourceExhausted(f"the server is busy: {what} (try again later)") from None

    @contextlib.asynccontextmanager
    async def history_build(self, peer: str) -> AsyncIterator[None]:
        """Hold one of the history builds: ``peer``'s turn (one build at a time per connection),
        once its unread answers are within its share, then a turn of the server's."""
        lock, users = self._peer_builds.get(peer) or (asyncio.Lock(), 0)
        self._peer_builds[peer] = (lock, users + 1)
        try:
            await self._acquire(lock, "this connection is already building a history")
            try:
                await self._wait_for(
                    lambda: self.unread_of(peer) < self.limits.per_connection_bytes,
                    "this connection has not read its earlier answers",
                )
                await self._acquire(self._builds, "other histories are being built")
                try:
                    yield
                finally:
                    self._builds.release()
            finally:
                lock.release()
        finally:
            lock, users = self._peer_builds[peer]
            if users > 1:
                self._peer_builds[peer] = (lock, users - 1)
            else:
                del self._peer_builds[peer]

    async def reserve(self, peer: str, size: int) -> bool:
        """Count an answer of ``size`` bytes for ``peer`` until :meth:`release`, once the server
        has room for it and the connection is within its share (either may be passed by this one
        answer). False for a small answer, which is not counted."""
        if size <= SMALL_ANSWER:
            return False
        limits = self.limits

        def room() -> bool:
            server_ok = self.unread == 0 or self.unread + size <= limits.max_unread_bytes
            return server_ok and self.unread_of(peer) < limits.per_connection_bytes

        await self._wait_for(room, "too many answers are waiting to be read")
        self.unread += size
        self._by_peer[peer] = self.unread_of(peer) + size
        return True

    def release(self, peer: str, size: int) -> None:
        """The answer :meth:`reserve` counted was read (or its call ended)."""
        self.unread -= size
        left = self.unread_of(peer) - size
        if left > 0:
            self._by_peer[peer] = left
        else:
            self._by_peer.pop(peer, None)
        task = asyncio.get_running_loop().create_task(self._notify())
        self._notices.add(task)
        task.add_done_callback(self._notices.discard)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
