"""The ``ThreadStore`` contract.

A thread is an append-only history of rollout items plus queryable metadata. A store keeps both
behind the operations below; every backend passes the same conformance suite
(``tests/conformance``). The rules every implementation follows:

Live writers
    ``create_thread`` / ``resume_thread`` open a thread's single live writer. A second live
    writer for the same thread is refused with :class:`~threadstore.errors.Conflict` (local and
    PostgreSQL stores enforce this across processes too). ``shutdown_thread`` and
    ``discard_thread`` end it; afterwards every live operation on the id raises
    :class:`~threadstore.errors.ThreadNotFound` until the thread is resumed again.

Lazy materialization
    Nothing touches storage until a persisted item is appended, ``persist_thread`` is called, or
    a flush or shutdown finds buffered items. A thread that never got any of these leaves no trace.

Persistence policy
    ``append_items`` takes raw items and keeps only those the policy persists
    (:mod:`threadstore.policy`), *before* looking for the writer: appending only never-persisted
    events (``shutdown_complete`` after shutdown, say) succeeds even without a writer.

Ordering and durability
    Items are stored in the order they were appended. ``flush_thread`` returns once everything
    appended before it is durable to the backend's standard (for the local store: written to the
    operating system, and with ``fsync=True`` also synced to the disk).

Discard
    ``discard_thread`` is an idempotent terminal release: what was durable stays, what was only
    buffered is dropped, the release completes even if the caller is cancelled, and every handle
    obtained before it is locked out.

Cold threads
    Reads, lists, searches and metadata updates work whether or not a thread has a live writer.
"""

from __future__ import annotations

import abc
from types import TracebackType

from ..errors import Unsupported
from .patch import ThreadMetadataPatch
from .types import (
    AppendThreadItemsParams,
    CreateThreadParams,
    ListThreadsParams,
    LoadThreadHistoryParams,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    StoredThread,
    StoredThreadHistory,
    ThreadPage,
    ThreadSearchPage,
    UpdateThreadMetadataParams,
)

__all__ = ["ThreadMetadataPatch", "ThreadStore"]


class ThreadStore(abc.ABC):
    """Storage for durable conversation threads (see the module documentation for the rules)."""

    # -- live writer lifecycle -----------------------------------------------------------------

    @abc.abstractmethod
    async def create_thread(self, params: CreateThreadParams) -> None:
        """Open live persistence for a new thread. Writes nothing yet.

        Raises ``Conflict`` when the thread already has a live writer or already exists."""

    @abc.abstractmethod
    async def resume_thread(self, params: ResumeThreadParams) -> None:
        """Reopen live persistence for an existing thread so that appends continue its history.

        Raises ``Conflict`` when it already has a live writer; ``InvalidRequest`` when there is
        nothing to resume (or it is archived and ``include_archived`` is false)."""

    @abc.abstractmethod
    async def append_items(self, params: AppendThreadItemsParams) -> None:
        """Append items in order (filtered by the persistence policy first).

        Raises ``ThreadNotFound`` when a persisted item has no live writer to go to. An append
        that raises stored none of its items."""

    @abc.abstractmethod
    async def persist_thread(self, thread_id: str) -> None:
        """Materialize a lazily created thread and write everything pending. Idempotent."""

    @abc.abstractmethod
    async def flush_thread(self, thread_id: str) -> None:
        """Return once every item appended so far is durable. A no-op for a thread with nothing
        written and nothing pending (no file is created)."""

    @abc.abstractmethod
    async def shutdown_thread(self, thread_id: str) -> None:
        """Flush, then close the live writer. Completes even if the caller is cancelled; if the
        flush fails, the writer stays open so the caller can retry."""

    @abc.abstractmethod
    async def discard_thread(self, thread_id: str) -> None:
        """Release the live writer without flushing (idempotent; see the module docs)."""

    # -- reads -----------------------------------------------------------------------------------

    @abc.abstractmethod
    async def load_history(self, params: LoadThreadHistoryParams) -> StoredThreadHistory:
        """The persisted items of a thread, in replay order."""

    @abc.abstractmethod
    async def read_thread(self, params: ReadThreadParams) -> StoredThread:
        """One thread's metadata (and history when asked).

        Raises ``ThreadNotFound`` when it does not exist and ``InvalidRequest`` when it is
        archived and ``include_archived`` is false."""

    async def read_thread_by_rollout_path(self, params: ReadThreadByRolloutPathParams) -> StoredThread:
        """Read a thread by its rollout file (only stores with files support this)."""
        raise Unsupported("read_thread_by_rollout_path")

    @abc.abstractmethod
    async def list_threads(self, params: ListThreadsParams) -> ThreadPage:
        """One page of threads that have at least one user message, in the requested order.

        ``next_cursor`` continues after the last item; an invalid cursor raises
        ``InvalidRequest``."""

    @abc.abstractmethod
    async def search_threads(self, params: SearchThreadsParams) -> ThreadSearchPage:
        """Threads whose messages contain ``search_term`` (case-insensitive), with a snippet
        around the first match, in listing order."""

    # -- metadata and lifecycle of stored threads ---------------------------------------------

    @abc.abstractmethod
    async def update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        """Apply a literal metadata patch and return the updated thread."""

    @abc.abstractmethod
    async def archive_thread(self, thread_id: str) -> None:
        """Move a thread to the archived collection."""

    @abc.abstractmethod
    async def unarchive_thread(self, thread_id: str) -> StoredThread:
        """Move a thread back to the active collection and return it."""

    @abc.abstractmethod
    async def delete_thread(self, thread_id: str) -> None:
        """Delete a thread and everything stored for it. Raises ``ThreadNotFound`` when absent."""

    # -- resources -------------------------------------------------------------------------------

    async def close(self) -> None:
        """Release the store's resources. Live writers are shut down (flushed) first."""

    async def __aenter__(self) -> ThreadStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
