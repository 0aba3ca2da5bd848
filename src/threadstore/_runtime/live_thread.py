"""``LiveThread``: the persistence lifecycle of one active thread.

A session owns one ``LiveThread`` per persisted thread and routes everything it records through
it: appends go to the store's live writer (the store applies the persistence policy and derives
the thread's metadata from what it keeps — :mod:`threadstore._rollout.summary` — so nothing above
the store derives metadata a second time); barriers (:meth:`LiveThread.persist`,
:meth:`~LiveThread.flush`, :meth:`~LiveThread.shutdown`) and explicit metadata updates go to the
store in call order. :meth:`LiveThread.discard` completes even if the caller is cancelled.

:class:`LiveThreadInitGuard` discards the writer of a session whose start-up failed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Final

from threadstore._aio import run_detached
from threadstore._contract.base import ThreadStore
from threadstore._contract.features import RolloutFiles
from threadstore._contract.patch import ThreadMetadataPatch, UpdateThreadMetadataParams
from threadstore._contract.types import (
    AppendThreadItemsParams,
    CreateThreadParams,
    LoadThreadHistoryParams,
    MemoryMode,
    ReadThreadParams,
    ResumeThreadParams,
    StoredThread,
    StoredThreadHistory,
)
from threadstore._rollout.items import Item
from threadstore._rollout.policy import EventPersistenceMode

__all__ = ["LiveThread", "LiveThreadInitGuard"]

logger: Final = logging.getLogger("threadstore.runtime")


class LiveThread:
    """The live persistence handle of one thread (see the module documentation).

    Build one with :meth:`create` or :meth:`resume`. Every method may be called concurrently from
    tasks of one event loop; the store orders the writes."""

    def __init__(
        self,
        store: ThreadStore,
        thread_id: str,
        *,
        mode: EventPersistenceMode = "limited",
        initial_history: Sequence[Item] = (),
    ) -> None:
        self.thread_id = thread_id
        self._store = store
        self._mode: EventPersistenceMode = mode
        self._initial_history = list(initial_history)
        self._closed = False

    # -- construction ----------------------------------------------------------------------------

    @classmethod
    async def create(cls, store: ThreadStore, params: CreateThreadParams) -> LiveThread:
        """Open live persistence for a new thread (nothing is written until it has history)."""
        await store.create_thread(params)
        return cls(store, params.thread_id, mode=params.event_persistence_mode)

    @classmethod
    async def resume(cls, store: ThreadStore, params: ResumeThreadParams) -> LiveThread:
        """Reopen live persistence for an existing thread.

        Calls ``store.resume_thread`` first, then (unless ``params.history`` was given) loads the
        history through the new writer; if loading fails the writer is discarded and the error
        raised."""
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
        return cls(store, params.thread_id, mode=params.event_persistence_mode, initial_history=history)

    # -- accessors -------------------------------------------------------------------------------

    @property
    def store(self) -> ThreadStore:
        return self._store

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
        if not isinstance(self._store, RolloutFiles):
            return None
        return Path(self._store.live_rollout_path(self.thread_id))

    # -- history ---------------------------------------------------------------------------------

    async def append_items(self, items: Sequence[Item]) -> None:
        """Append raw items in order; returns once the store accepted them. Items the
        persistence policy drops are never stored (appending only such events is always
        harmless, even after shutdown)."""
        await self._store.append_items(AppendThreadItemsParams(self.thread_id, items))

    async def persist(self) -> None:
        """Materialize the thread and write everything pending."""
        await self._store.persist_thread(self.thread_id)

    async def flush(self) -> None:
        """Return once every appended item is durable."""
        await self._store.flush_thread(self.thread_id)

    async def shutdown(self) -> None:
        """Flush and close the store's writer. If that fails the writer stays open and the error
        is raised (the caller may retry or :meth:`discard`)."""
        await self._store.shutdown_thread(self.thread_id)
        self._closed = True

    async def discard(self) -> None:
        """Release the writer without flushing (idempotent; completes even if the caller is
        cancelled)."""
        self._closed = True
        await run_detached(lambda: self._store.discard_thread(self.thread_id))

    async def load_history(self, include_archived: bool = True) -> StoredThreadHistory:
        """The persisted items (through the live writer's rollout when the store has one)."""
        return await self._store.load_history(
            LoadThreadHistoryParams(self.thread_id, include_archived=include_archived)
        )

    async def read_thread(self, include_archived: bool = True, include_history: bool = False) -> StoredThread:
        return await self._store.read_thread(
            ReadThreadParams(self.thread_id, include_archived=include_archived, include_history=include_history)
        )

    # -- explicit metadata -----------------------------------------------------------------------

    async def update_metadata(self, patch: ThreadMetadataPatch, include_archived: bool = True) -> StoredThread:
        """Apply ``patch`` literally; returns the thread as it now reads."""
        return await self._store.update_thread_metadata(
            UpdateThreadMetadataParams(self.thread_id, patch, include_archived=include_archived)
        )

    async def update_memory_mode(self, mode: MemoryMode, include_archived: bool = True) -> StoredThread:
        """Set whether the thread may feed memories (``"enabled"`` / ``"disabled"``)."""
        return await self.update_metadata(ThreadMetadataPatch(memory_mode=mode), include_archived)


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
