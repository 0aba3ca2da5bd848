"""Writer leases: which client holds each live writer, and release of idle ones.

Threadstore clients send a writer token with every call (``x-threadstore-writer``). The client
that creates or resumes a thread holds its writer: live calls (append, persist, flush, shutdown)
from another token get ``Conflict``, as a second writer on a local store would. Codex clients
send no token; their threads are not bound to a connection.

A client that crashes (or, like Codex 0.125.0 with a remote store, never sends its final
``ShutdownThread``) would otherwise hold its thread's writer until the server restarts, and
every later resume of that thread would get ``Conflict``. :class:`WriterLeases` records when
each live thread was last used; a writer idle for longer than ``timeout`` is shut down (its data
flushed; discarded if the flush fails) and remembered as *released*.

A client with a writer id of its own sends ``<writer id>/<instance>`` as its token (a new
instance each time it starts). Such a client that comes back under the same writer id (a
program restarted after a crash) and creates or resumes a thread whose writer a former instance
still holds here takes that writer over: the old one is shut down (its data flushed; discarded
if the flush fails) and the new call proceeds as if the thread had no writer. The instance that
holds a writer is refused a second one (``Conflict``), as every client is.

Release is transparent to a client that was merely quiet: its next live call on the thread
(append, persist, flush) first resumes the thread with the same persistence mode. If another
writer took the thread in the meantime, that call gets ``Conflict`` — exactly what a second
writer would get. A ``ShutdownThread``/``DiscardThread`` for a released thread succeeds (the
writer is already closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from threadstore._contract.types import ResumeThreadParams
from threadstore._rollout.policy import EventPersistenceMode
from threadstore._server.deferred import DeferredCreateStore
from threadstore.errors import Conflict, ThreadStoreError

__all__ = ["WriterLeases", "caller_token"]

_log: Final = logging.getLogger("threadstore.server")

#: The writer token of the client whose request is being served (None: a client without one).
caller_token: contextvars.ContextVar[str | None] = contextvars.ContextVar("threadstore_caller_token", default=None)


@dataclass
class _Lease:
    mode: EventPersistenceMode
    last_used: float
    owner: str | None


def _former_instance(owner: str, caller: str) -> bool:
    """Whether ``owner`` is another instance of the client ``caller`` (``id/instance`` tokens
    with the same id)."""
    identity, slash, _ = caller.partition("/")
    return bool(slash) and owner != caller and owner.partition("/")[0] == identity


class WriterLeases:
    """Last use of every live writer the server holds, and the writers released for idleness."""

    def __init__(self, store: DeferredCreateStore, timeout: float | None) -> None:
        self.store = store
        self.timeout = timeout
        #: Seconds on a monotonic clock (tests replace it to make time pass).
        self.clock: Callable[[], float] = time.monotonic
        self._live: dict[str, _Lease] = {}
        self._released: dict[str, EventPersistenceMode] = {}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # -- bookkeeping, called by the RPC handlers -------------------------------------------------

    def opened(self, thread_id: str, mode: EventPersistenceMode) -> None:
        """A create or resume by the calling client succeeded: it holds the writer."""
        self._released.pop(thread_id, None)
        self._live[thread_id] = _Lease(mode, self.clock(), caller_token.get())

    def check_owner(self, thread_id: str) -> None:
        """Refuse a live call from anyone but the writer's holder (``Conflict``): a caller with
        another identity, or with none, on a thread a threadstore client holds; a threadstore
        client on a thread held by a caller without identity (a Codex client)."""
        lease = self._live.get(thread_id)
        if lease is not None and caller_token.get() != lease.owner:
            raise Conflict(f"thread {thread_id} is being written by another client")

    async def take_over(self, thread_id: str) -> None:
        """Before a create or resume: if the calling client already holds the thread's writer
        (a restarted client with the same token), shut that writer down first."""
        token = caller_token.get()
        async with self._lock:
            lease = self._live.get(thread_id)
            if token is None or lease is None or lease.owner is None or not _former_instance(lease.owner, token):
                return
            try:
                await self.store.shutdown_thread(thread_id)
            except ThreadStoreError as exc:
                _log.warning("thread %s: writer taken over did not shut down (%s); discarding it", thread_id, exc)
                await self.store.discard_thread(thread_id)
            del self._live[thread_id]
            _log.info("thread %s: writer taken over by its holder", thread_id)

    def closed(self, thread_id: str) -> bool:
        """A shutdown or discard is about to run; True when the writer was already released."""
        self._live.pop(thread_id, None)
        return self._released.pop(thread_id, None) is not None

    async def use(self, thread_id: str) -> None:
        """Before a live call: refuse other clients' calls, re-acquire a released writer for
        the caller, and note the use."""
        async with self._lock:
            self.check_owner(thread_id)
            mode = self._released.get(thread_id)
            if mode is not None:
                await self.store.resume_thread(
                    ResumeThreadParams(thread_id=thread_id, include_archived=True, event_persistence_mode=mode)
                )
                del self._released[thread_id]
                _log.info("thread %s: writer re-acquired after an idle release", thread_id)
                self._live[thread_id] = _Lease(mode, self.clock(), caller_token.get())
        lease = self._live.get(thread_id)
        if lease is not None:
            lease.last_used = self.clock()

    # -- the reaper ------------------------------------------------------------------------------

    def start(self) -> None:
        if self.timeout is not None and self.timeout > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="threadstore-lease-reaper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        assert self.timeout is not None
        interval = max(0.05, min(self.timeout / 4, 30.0))
        while True:
            await asyncio.sleep(interval)
            await self.release_idle()

    async def release_idle(self) -> list[str]:
        """Release every writer idle for longer than the timeout; return their ids."""
        if self.timeout is None:
            return []
        now = self.clock()
        idle = [
            tid
            for tid, lease in self._live.items()
            if now - lease.last_used > self.timeout and not self.store.is_pending(tid)
        ]
        released: list[str] = []
        async with self._lock:
            for thread_id in idle:
                lease = self._live.get(thread_id)
                if lease is None or self.clock() - lease.last_used <= self.timeout:
                    continue  # used (or closed) meanwhile
                try:
                    await self.store.shutdown_thread(thread_id)
                except ThreadStoreError as exc:
                    _log.warning("thread %s: idle writer did not shut down (%s); discarding it", thread_id, exc)
                    await self.store.discard_thread(thread_id)
                del self._live[thread_id]
                self._released[thread_id] = lease.mode
                released.append(thread_id)
                _log.info("thread %s: writer released after %.0f s idle", thread_id, self.timeout)
        return released
