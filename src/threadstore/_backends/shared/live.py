"""The live-writer lifecycle shared by every backend that stores threads itself.

:class:`LiveWriterStore` implements the live operations of the contract (create, resume, append,
persist, flush, shutdown, discard) once, on top of a small per-backend :class:`LiveWriter`.
Backends supply how a writer opens, writes, syncs and closes; this module supplies the rules:
one live writer per thread, policy filtering before the writer lookup, strict ordering per
thread, shutdown and discard that finish even when the caller is cancelled, discard that locks
out stale handles, registry removal only while the entry is still the same writer, and appends
applied once per idempotency key.

Idempotency keys: the first append with a key stores its items and records the key with a
digest of them (:meth:`PersistedItems.digest`) where the thread lives: the backend's writer
decides where (:meth:`LiveWriter.applied`, :meth:`LiveWriter.write_once`; the memory store keeps
them with the thread for the store's life, the local store in a file beside the thread, the
PostgreSQL store in a table beside the items). An append whose key the thread already recorded
stores nothing: it is acknowledged when its digest is the recorded one (a retry) and refused with
``Conflict`` when it is not (a key reused for other items).
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from threadstore._aio import run_detached
from threadstore._contract.base import ThreadStore
from threadstore._contract.first_line import opens_paginated
from threadstore._contract.types import CreateThreadParams, ResumeThreadParams, key_reused
from threadstore._rollout.items import Item
from threadstore._rollout.policy import EventPersistenceMode, PersistedItems
from threadstore._rollout.summary import ThreadSummary
from threadstore.errors import Conflict, ThreadNotFound, ThreadStoreError

__all__ = [
    "LiveWriter",
    "LiveWriterStore",
]

T = TypeVar("T")

class LiveWriter(abc.ABC):
    """One thread's open persistence. The store serializes every call through :attr:`lock`."""

    def __init__(self, thread_id: str, mode: EventPersistenceMode) -> None:
        self.thread_id = thread_id
        self.mode: EventPersistenceMode = mode
        self.lock = asyncio.Lock()
        #: Set once the writer was shut down or discarded; every later call is refused.
        self.closed = False
        #: Keys applied through this writer and their digests (the default :meth:`applied`).
        self._keys: dict[str, str] = {}

    @abc.abstractmethod
    async def write(self, items: list[Item]) -> None:
        """Store ``items`` (already filtered), materializing the thread first if needed.

        Atomic: if it raises, none of the items was stored."""

    async def applied(self, idempotency_key: str) -> str | None:
        """The digest recorded with ``idempotency_key`` for this thread, or None when the thread
        has stored no append with that key. The default knows the keys of this writer's life;
        a backend that keeps keys with the thread overrides it."""
        return self._keys.get(idempotency_key)

    async def write_once(self, items: list[Item], idempotency_key: str, digest: str) -> str | None:
        """:meth:`write` for an append carrying a key that :meth:`applied` did not know, and the
        key recorded with ``digest``, atomically with the items where the backend can. Returns
        None when the items were stored, or the digest already recorded with the key (nothing
        stored) when the backend finds it only now (another process stored it meanwhile)."""
        await self.write(items)
        self._keys[idempotency_key] = digest
        return None

    @abc.abstractmethod
    async def persist(self) -> None:
        """Materialize the thread if it is still lazy, and make everything durable."""

    @abc.abstractmethod
    async def flush(self) -> None:
        """Make everything written so far durable (no-op if nothing was ever written)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release resources after a successful flush."""

    @abc.abstractmethod
    async def abandon(self) -> None:
        """Release resources without flushing (discard). Must not raise for ordinary cleanup."""

    @property
    def materialized(self) -> bool:
        """Whether anything of this thread exists in storage."""
        return True

    @property
    def lines_so_far(self) -> ThreadSummary | None:
        """The fold of the lines written so far (None while a new thread is still lazy)."""
        return None

    @property
    def paginated(self) -> bool:
        """Whether the thread has paginated history (its lines carry ordinals)."""
        summary = self.lines_so_far
        return summary is not None and summary.history_mode == "paginated"

    def prepared(self, items: list[Item]) -> list[Item]:
        """``items`` as this thread's next lines, for an append that is not exact: numbered
        (:meth:`numbered`), and whatever else the backend's format asks of new lines."""
        return self.numbered(items)

    def numbered(self, items: list[Item]) -> list[Item]:
        """``items`` as this thread's next lines: in a thread with paginated history, an item
        without an ``ordinal`` takes the next one (as its first field, where Codex puts it)."""
        summary = self.lines_so_far
        if not self.materialized and items and opens_paginated(items[0], self.thread_id):
            next_ordinal = 0  # a new thread's own first line says it is paginated (a fork by reference)
        elif summary is None or summary.history_mode != "paginated":
            return items
        else:
            next_ordinal = summary.next_ordinal()
        lines: list[Item] = []
        for item in items:
            own = item.get("ordinal")
            if type(own) is int:
                next_ordinal = max(next_ordinal, own + 1)
                lines.append(item)
                continue
            line = {"ordinal": next_ordinal, **item}
            if "timestamp" in item:  # a line's time stays its first field
                line = {"timestamp": item["timestamp"], **line}
            lines.append(line)
            next_ordinal += 1
        return lines


class LiveWriterStore(ThreadStore, abc.ABC):
    """A :class:`ThreadStore` whose live hooks are implemented by this module on top of the
    backend's :class:`LiveWriter`."""

    def __init__(self) -> None:
        self._writers: dict[str, LiveWriter] = {}
        self._registry_lock = asyncio.Lock()

    # -- what a backend supplies -----------------------------------------------------------------

    @abc.abstractmethod
    async def _open_new_writer(self, params: CreateThreadParams) -> LiveWriter:
        """Open a writer for a thread that must not exist yet (``Conflict`` if it does)."""

    @abc.abstractmethod
    async def _open_resumed_writer(self, params: ResumeThreadParams) -> LiveWriter:
        """Open a writer that continues an existing thread."""

    # -- registry --------------------------------------------------------------------------------

    def _live_writer(self, thread_id: str) -> LiveWriter:
        writer = self._writers.get(thread_id)
        if writer is None or writer.closed:
            raise ThreadNotFound(thread_id)
        return writer

    def _open_writer(self, thread_id: str) -> LiveWriter | None:
        """This store's open writer of ``thread_id``, if any."""
        writer = self._writers.get(thread_id)
        return writer if writer is not None and not writer.closed else None

    def _remove_if_current(self, thread_id: str, writer: LiveWriter) -> None:
        if self._writers.get(thread_id) is writer:
            del self._writers[thread_id]

    async def _register(self, thread_id: str, opener: Callable[[], Awaitable[LiveWriter]]) -> None:
        async with self._registry_lock:
            if self._open_writer(thread_id) is not None:
                raise Conflict(f"thread {thread_id} already has a live writer")
            self._writers[thread_id] = await opener()

    async def _with_writer(self, thread_id: str, action: Callable[[LiveWriter], Awaitable[T]]) -> T:
        writer = self._live_writer(thread_id)
        async with writer.lock:
            if writer.closed:
                raise ThreadNotFound(thread_id)
            return await action(writer)

    # -- hooks -----------------------------------------------------------------------------------

    async def _create_thread(self, params: CreateThreadParams) -> None:
        await self._register(params.thread_id, lambda: self._open_new_writer(params))

    async def _resume_thread(self, params: ResumeThreadParams) -> None:
        await self._register(params.thread_id, lambda: self._open_resumed_writer(params))

    async def _append_items(self, thread_id: str, items: PersistedItems, idempotency_key: str | None = None) -> None:
        writer = self._live_writer(thread_id)
        kept = items.for_mode(writer.mode, paginated=writer.paginated)
        if not kept:
            return

        async def write(w: LiveWriter) -> None:
            lines = kept if items.exact else w.prepared(kept)
            if idempotency_key is None:
                await w.write(lines)
                return
            digest = items.digest()
            known = await w.applied(idempotency_key)
            if known is None:
                known = await w.write_once(lines, idempotency_key, digest)
            if known is not None and known != digest:
                raise key_reused(thread_id, idempotency_key)

        await self._with_writer(thread_id, write)

    async def _persist_thread(self, thread_id: str) -> None:
        await self._with_writer(thread_id, lambda w: w.persist())

    async def _flush_thread(self, thread_id: str) -> None:
        await self._with_writer(thread_id, lambda w: w.flush())

    async def _shutdown_thread(self, thread_id: str) -> None:
        writer = self._live_writer(thread_id)

        async def work() -> None:
            async with writer.lock:
                if writer.closed:
                    raise ThreadNotFound(thread_id)
                await writer.flush()  # on failure the writer stays open for a retry
                writer.closed = True
                try:
                    await writer.close()
                finally:
                    self._remove_if_current(thread_id, writer)

        await run_detached(work)

    async def _discard_thread(self, thread_id: str) -> None:
        writer = self._writers.get(thread_id)
        if writer is None:
            return
        # Lock out every holder of this writer at once, before waiting for in-flight work.
        writer.closed = True

        async def work() -> None:
            try:
                async with writer.lock:
                    await writer.abandon()
            finally:
                self._remove_if_current(thread_id, writer)

        await run_detached(work)

    async def _close(self) -> None:
        """Shut every live writer down (discarding those whose flush fails)."""
        for thread_id in list(self._writers):
            try:
                await self._shutdown_thread(thread_id)
            except ThreadStoreError:
                await self._discard_thread(thread_id)
