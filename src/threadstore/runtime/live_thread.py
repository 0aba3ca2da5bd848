"""``LiveThread``: the persistence lifecycle of one active thread.

A session owns one ``LiveThread`` per persisted thread. It routes appends to the store's live
writer and keeps the thread's metadata in step with what was appended:

* :meth:`LiveThread.append_items` returns as soon as the store has accepted the history. The
  metadata derived from the items (:class:`ThreadMetadataSync`) is written by a background task,
  one ``update_thread_metadata`` at a time; appends made while an update is in flight coalesce
  into a single follow-up update.
* Barriers (:meth:`flush`, :meth:`persist`, :meth:`shutdown`, :meth:`update_metadata`,
  :meth:`update_memory_mode`) wait for the metadata generation that existed when the barrier was
  taken, never for appends accepted after it. A background update that failed stays pending and
  is retried by the next barrier (or append); a barrier whose own retry fails raises that error.
* :meth:`shutdown` writes pending metadata before closing the store's writer; :meth:`discard`
  waits for an in-flight metadata update before releasing the writer, and completes even if the
  caller is cancelled.

:class:`LiveThreadInitGuard` discards the writer of a session whose start-up failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Final

from ..items import Item, validate_items
from ..policy import EventPersistenceMode, persisted_items
from ..store.base import ThreadStore
from ..store.live import run_detached
from ..store.patch import ThreadMetadataPatch
from ..store.types import (
    AppendThreadItemsParams,
    CreateThreadParams,
    LoadThreadHistoryParams,
    MemoryMode,
    ReadThreadParams,
    ResumeThreadParams,
    StoredThread,
    StoredThreadHistory,
    UpdateThreadMetadataParams,
)
from .metadata_sync import DEFAULT_TOUCH_INTERVAL, PendingMetadataUpdate, ThreadMetadataSync

__all__ = ["LiveThread", "LiveThreadInitGuard"]

logger: Final = logging.getLogger("threadstore.runtime")


class LiveThread:
    """The live persistence handle of one thread (see the module documentation).

    Build one with :meth:`create` or :meth:`resume`. Every method may be called concurrently from
    tasks of one event loop; the store serializes the writes.
    """

    def __init__(
        self,
        store: ThreadStore,
        thread_id: str,
        sync: ThreadMetadataSync,
        *,
        mode: EventPersistenceMode = "limited",
        initial_history: Sequence[Item] = (),
    ) -> None:
        self.thread_id = thread_id
        self._store = store
        self._sync = sync
        self._mode: EventPersistenceMode = mode
        self._initial_history = list(initial_history)
        self._apply_lock = asyncio.Lock()
        self._applied_generation = 0
        self._requested_generation = 0
        self._worker: asyncio.Task[None] | None = None
        self._closed = False
        #: The error of the last failed background metadata update (kept for diagnostics).
        self.last_background_error: BaseException | None = None
        #: Number of metadata updates the store accepted (for diagnostics and tests).
        self.applied_updates = 0

    # -- construction ----------------------------------------------------------------------------

    @classmethod
    async def create(
        cls,
        store: ThreadStore,
        params: CreateThreadParams,
        *,
        touch_interval: float = DEFAULT_TOUCH_INTERVAL,
    ) -> LiveThread:
        """Open live persistence for a new thread. The creation metadata is prepared first and
        written only once history exists."""
        sync = ThreadMetadataSync.for_create(params, touch_interval=touch_interval)
        await store.create_thread(params)
        return cls(store, params.thread_id, sync, mode=params.event_persistence_mode)

    @classmethod
    async def resume(
        cls,
        store: ThreadStore,
        params: ResumeThreadParams,
        *,
        touch_interval: float = DEFAULT_TOUCH_INTERVAL,
    ) -> LiveThread:
        """Reopen live persistence for an existing thread.

        Calls ``store.resume_thread`` first, then (unless ``params.history`` was given) loads the
        history through the new writer; if loading fails the writer is discarded and the error
        raised. The metadata sync is seeded from the history (:attr:`initial_history`)."""
        await store.resume_thread(params)
        if params.history is not None:
            history = list(params.history)
        else:
            try:
                loaded = await store.load_history(
                    LoadThreadHistoryParams(params.thread_id, include_archived=params.include_archived)
                )
            except BaseException:
                await store.discard_thread(params.thread_id)
                raise
            history = list(loaded.items)
        sync = ThreadMetadataSync.for_resume(
            params.thread_id, cwd=params.cwd, history=history, touch_interval=touch_interval
        )
        return cls(store, params.thread_id, sync, mode=params.event_persistence_mode, initial_history=history)

    # -- accessors -------------------------------------------------------------------------------

    @property
    def store(self) -> ThreadStore:
        return self._store

    @property
    def metadata_sync(self) -> ThreadMetadataSync:
        return self._sync

    @property
    def initial_history(self) -> list[Item]:
        """The history loaded when the thread was resumed (empty for a created thread)."""
        return list(self._initial_history)

    @property
    def event_persistence_mode(self) -> EventPersistenceMode:
        return self._mode

    @property
    def closed(self) -> bool:
        """True once :meth:`shutdown` or :meth:`discard` completed."""
        return self._closed

    def local_rollout_path(self) -> Path | None:
        """The live rollout file when the store keeps threads in files (the local store), else
        None. Raises ``ThreadNotFound`` when such a store has no live writer for the thread."""
        getter = getattr(self._store, "live_rollout_path", None)
        if getter is None or not callable(getter):
            return None
        return Path(getter(self.thread_id))

    # -- history ---------------------------------------------------------------------------------

    async def append_items(self, items: Sequence[Item]) -> None:
        """Append raw items in order and schedule the metadata they imply.

        Returns once the store accepted the history; never waits for metadata. Items the
        persistence policy drops never reach the store (so appending only such events is always
        harmless, even after shutdown)."""
        batch = validate_items(items)
        canonical = persisted_items(batch, self._mode)
        if not canonical:
            return
        await self._store.append_items(AppendThreadItemsParams(self.thread_id, batch))
        update = self._sync.observe_append(canonical)
        if update is not None:
            self._schedule(update)

    async def persist(self) -> None:
        """Materialize the thread and write everything pending, then all pending metadata
        (including the creation or resume metadata that was still deferred)."""
        target = self._sync.generation
        await self._store.persist_thread(self.thread_id)
        await self._metadata_barrier(target, include_deferred=True)

    async def flush(self) -> None:
        """Make every appended item durable, then write the metadata pending when the flush was
        called (deferred creation/resume metadata excepted)."""
        target = self._sync.generation
        await self._store.flush_thread(self.thread_id)
        await self._metadata_barrier(target, include_deferred=False)

    async def shutdown(self) -> None:
        """Write pending metadata, then flush and close the store's writer.

        The writer is closed even when the metadata write fails (history matters more than
        derived metadata); that failure is raised afterwards. If closing the writer fails, the
        writer stays open and the error is raised (the caller may retry or :meth:`discard`)."""
        target = self._sync.generation
        metadata_error: Exception | None = None
        try:
            await self._metadata_barrier(target, include_deferred=False)
        except Exception as exc:  # reported after the writer is closed
            metadata_error = exc
        await self._store.shutdown_thread(self.thread_id)
        self._closed = True
        if metadata_error is not None:
            raise metadata_error

    async def discard(self) -> None:
        """Release the writer without flushing (idempotent). Waits for an in-flight metadata
        update first; completes even if the caller is cancelled."""
        self._closed = True

        async def work() -> None:
            async with self._apply_lock:
                pass
            await self._store.discard_thread(self.thread_id)

        await run_detached(work)

    async def load_history(self, include_archived: bool = True) -> StoredThreadHistory:
        """The persisted items (through the live writer's rollout when the store has one)."""
        return await self._store.load_history(
            LoadThreadHistoryParams(self.thread_id, include_archived=include_archived)
        )

    async def read_thread(self, include_archived: bool = True, include_history: bool = False) -> StoredThread:
        return await self._store.read_thread(
            ReadThreadParams(self.thread_id, include_archived=include_archived, include_history=include_history)
        )

    # -- explicit metadata -------------------------------------------------------------------------

    async def update_metadata(self, patch: ThreadMetadataPatch, include_archived: bool = True) -> StoredThread:
        """Write every pending derived patch, then apply ``patch`` literally; returns the thread."""
        await self._metadata_barrier(self._sync.generation, include_deferred=True)
        return await self._store.update_thread_metadata(
            UpdateThreadMetadataParams(self.thread_id, patch, include_archived=include_archived)
        )

    async def update_memory_mode(self, mode: MemoryMode, include_archived: bool = True) -> StoredThread:
        """Set whether the thread may feed memories (``"enabled"`` / ``"disabled"``)."""
        return await self.update_metadata(ThreadMetadataPatch(memory_mode=mode), include_archived)

    # -- metadata worker ---------------------------------------------------------------------------

    def _schedule(self, update: PendingMetadataUpdate) -> None:
        self._requested_generation = max(self._requested_generation, update.generation)
        if self._closed:
            return
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run_worker(), name=f"threadstore-metadata-{self.thread_id}")

    async def _run_worker(self) -> None:
        """Apply requested updates one at a time until caught up; stop at the first failure
        (the update stays pending for the next barrier or append)."""
        while True:
            async with self._apply_lock:
                if self._closed or self._requested_generation <= self._applied_generation:
                    return
                update = self._sync.take_pending_update_for_existing_history()
                if update is None:
                    return
                try:
                    await self._apply(update)
                except Exception as exc:  # kept pending; barriers report it
                    self.last_background_error = exc
                    logger.warning("metadata update for thread %s failed (will retry): %s", self.thread_id, exc)
                    return

    async def _apply(self, update: PendingMetadataUpdate) -> None:
        await self._store.update_thread_metadata(
            UpdateThreadMetadataParams(self.thread_id, update.patch, include_archived=True)
        )
        self.applied_updates += 1
        self._sync.mark_pending_update_applied(update)
        self._applied_generation = max(self._applied_generation, update.generation)

    async def _metadata_barrier(self, target: int, *, include_deferred: bool) -> None:
        """Wait for any in-flight update; if generation ``target`` is still not applied, apply
        the pending patch now (raising its error)."""
        async with self._apply_lock:
            if self._applied_generation >= target:
                return
            if include_deferred:
                update = self._sync.take_pending_update()
            else:
                update = self._sync.take_pending_update_for_existing_history()
            if update is None:
                return
            await self._apply(update)


class LiveThreadInitGuard:
    """Holds the ``LiveThread`` of a session while the session starts.

    Use as ``async with LiveThreadInitGuard(live) as guard: ...; guard.commit()``. Leaving the
    block without :meth:`commit` (because start-up raised, or was abandoned) discards the writer,
    so a failed start never leaks a live writer. Discard errors are logged, never raised over the
    original error. ``live`` may be None (ephemeral threads persist nothing).
    """

    def __init__(self, live: LiveThread | None) -> None:
        self._live = live
        self._committed = False

    @property
    def live(self) -> LiveThread | None:
        return self._live

    def commit(self) -> LiveThread | None:
        """Start-up succeeded: hand the live thread over; leaving the block does nothing."""
        self._committed = True
        return self._live

    async def discard(self) -> None:
        """Discard the held live thread now (once); errors are logged."""
        live, self._live = self._live, None
        if live is None:
            return
        try:
            await live.discard()
        except Exception as exc:  # best effort after a failed start
            logger.warning("failed to discard thread persistence for failed session init: %s", exc)

    async def __aenter__(self) -> LiveThreadInitGuard:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed:
            await self.discard()
