"""The ``ThreadStore`` contract.

A thread is an append-only history of rollout items plus queryable metadata. A store keeps both
behind the operations below; every backend passes the same conformance suite
(:mod:`threadstore.testing`). The rules every implementation follows:

Input is checked once
    The public methods are the contract and are not overridden. Each checks its input once
    (parameter objects check themselves when built; a bare ``thread_id`` is checked here: a
    malformed id is ``InvalidRequest``, an upper-case one is taken in lower case), refuses calls
    on a closed store (``InvalidRequest``), and calls the backend's protected hook of the same
    name (``_read_thread``, ``_append_items``, ...) with input it can trust.

Errors
    Every failure is a :class:`~threadstore.errors.ThreadStoreError`. An exception of any other
    kind raised by a hook (a driver's, the operating system's, a bug) is turned into one by
    :meth:`ThreadStore._map_error` (``Internal`` unless the backend knows better), so nothing
    foreign escapes a public method.

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
    ``append_items`` takes raw items; the policy (:mod:`threadstore._rollout.policy`) is applied once, when
    the parameters are built, and the hook receives only what some mode keeps. An append of which
    nothing is kept returns at once, without looking for a writer: appending only never-persisted
    events (``shutdown_complete`` after shutdown, say) always succeeds.

Ordering and durability
    Items are stored in the order they were appended. An item may carry its own ``timestamp``
    (RFC 3339): it is recorded as the time the item was written (a copied thread keeps its
    times); other items are stamped with the time of the append. ``flush_thread`` returns once everything
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
import functools
import logging
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Final, ParamSpec, TypeVar

from threadstore._contract.listing import ListThreadsParams, SearchThreadsParams, ThreadPage, ThreadSearchPage
from threadstore._contract.paging import ItemPage, ListItemsParams, ListTurnsParams, TurnPage
from threadstore._contract.patch import UpdateThreadMetadataParams
from threadstore._contract.types import (
    AppendThreadItemsParams,
    CreateThreadParams,
    LoadThreadHistoryParams,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    StoredThread,
    StoredThreadHistory,
)
from threadstore._ids import validate_thread_id
from threadstore._rollout.policy import PersistedItems
from threadstore.errors import Internal, InvalidRequest, ThreadStoreError, Unsupported

__all__ = ["ThreadStore"]

_log: Final = logging.getLogger("threadstore.store")

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="ThreadStore")


def _operation(method: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Wrap a public operation: refuse a closed store and let only store errors out."""

    @functools.wraps(method)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        store = args[0]
        assert isinstance(store, ThreadStore)
        if store._closed:
            raise InvalidRequest("the store is closed")
        try:
            return await method(*args, **kwargs)
        except ThreadStoreError:
            raise
        except Exception as exc:
            error = store._map_error(exc)
            if isinstance(error, Internal):
                _log.warning("%s.%s failed: %r", type(store).__name__, method.__name__, exc, exc_info=exc)
            raise error from exc

    return run


def _checked(value: object, cls: type[R]) -> R:
    if not isinstance(value, cls):
        raise InvalidRequest(f"expected {cls.__name__}, got {type(value).__name__}")
    return value


class ThreadStore(abc.ABC):
    """Storage for durable conversation threads (see the module documentation for the rules).

    Backends implement the protected hooks; the public methods are the contract."""

    _closed: bool = False

    # -- live writer lifecycle -----------------------------------------------------------------

    @_operation
    async def create_thread(self, params: CreateThreadParams) -> None:
        """Open live persistence for a new thread. Writes nothing yet.

        Raises ``Conflict`` when the thread already has a live writer or already exists."""
        await self._create_thread(_checked(params, CreateThreadParams))

    @_operation
    async def resume_thread(self, params: ResumeThreadParams) -> None:
        """Reopen live persistence for an existing thread so that appends continue its history.

        Raises ``ThreadNotFound`` when there is no such thread, ``InvalidRequest`` when it is
        archived and ``include_archived`` is false, ``Conflict`` when it already has a live
        writer. ``cwd`` and ``model_provider`` are defaults: a thread whose history records none
        is given them (they never replace what the history says). ``history`` is for the layer
        above (a caller that already loaded the items need not load them again); stores read
        their own."""
        params = _checked(params, ResumeThreadParams)
        await self._resume_thread(params)
        if params.cwd or params.model_provider:
            await self._apply_resume_defaults(params)

    @_operation
    async def append_items(self, params: AppendThreadItemsParams) -> None:
        """Append items in order (what the persistence policy keeps of them).

        Raises ``ThreadNotFound`` when a kept item has no live writer to go to. An append that
        raises stored none of its items. An append carrying an ``idempotency_key`` that this
        thread already stored is acknowledged without storing anything again when its items are
        the same, and refused with ``Conflict`` when they are not. Keys are kept where the thread
        is, for as long as it is: stores built on
        :class:`~threadstore._backends.shared.live.LiveWriterStore` keep them with the thread (in
        memory for the store's life, beside the rollout on disk, in the database)."""
        params = _checked(params, AppendThreadItemsParams)
        if not params.persisted:
            return
        if params.idempotency_key is None:  # (hooks written before keys existed take two arguments)
            await self._append_items(params.thread_id, params.persisted)
        else:
            await self._append_items(params.thread_id, params.persisted, params.idempotency_key)

    @_operation
    async def persist_thread(self, thread_id: str) -> None:
        """Materialize a lazily created thread and write everything pending. Idempotent."""
        await self._persist_thread(validate_thread_id(thread_id))

    @_operation
    async def flush_thread(self, thread_id: str) -> None:
        """Return once every item appended so far is durable. A no-op for a thread with nothing
        written and nothing pending (nothing is created)."""
        await self._flush_thread(validate_thread_id(thread_id))

    @_operation
    async def shutdown_thread(self, thread_id: str) -> None:
        """Flush, then close the live writer. Completes even if the caller is cancelled; if the
        flush fails, the writer stays open so the caller can retry."""
        await self._shutdown_thread(validate_thread_id(thread_id))

    @_operation
    async def discard_thread(self, thread_id: str) -> None:
        """Release the live writer without flushing (idempotent; see the module docs)."""
        await self._discard_thread(validate_thread_id(thread_id))

    # -- reads -----------------------------------------------------------------------------------

    @_operation
    async def load_history(self, params: LoadThreadHistoryParams) -> StoredThreadHistory:
        """The persisted items of a thread, in replay order.

        Raises ``ThreadNotFound`` when it does not exist and ``InvalidRequest`` when it is
        archived and ``include_archived`` is false. With ``tail``, only the last lines (a
        backend that cannot read a tail alone reads the whole history; it is cut here)."""
        params = _checked(params, LoadThreadHistoryParams)
        history = await self._load_history(params)
        if params.tail is not None and len(history.items) > params.tail:
            stamps = history.timestamps
            history = StoredThreadHistory(
                history.thread_id, history.items[-params.tail :], stamps[-params.tail :] if stamps is not None else None
            )
        return history

    @_operation
    async def read_thread(self, params: ReadThreadParams) -> StoredThread:
        """One thread's metadata (and history when asked).

        Raises ``ThreadNotFound`` when it does not exist and ``InvalidRequest`` when it is
        archived and ``include_archived`` is false."""
        return await self._read_thread(_checked(params, ReadThreadParams))

    @_operation
    async def read_thread_by_rollout_path(self, params: ReadThreadByRolloutPathParams) -> StoredThread:
        """Read a thread by its rollout file (only stores with files support this; the others
        raise ``Unsupported``)."""
        return await self._read_thread_by_rollout_path(_checked(params, ReadThreadByRolloutPathParams))

    @_operation
    async def list_threads(self, params: ListThreadsParams) -> ThreadPage:
        """One page of threads that have at least one user message, in the requested order.

        ``next_cursor`` continues after the last item; an invalid cursor raises
        ``InvalidRequest``."""
        return await self._list_threads(_checked(params, ListThreadsParams))

    @_operation
    async def search_threads(self, params: SearchThreadsParams) -> ThreadSearchPage:
        """Threads whose messages contain ``search_term`` (case-insensitive, Unicode case
        folding), with a snippet around the first match, in listing order."""
        return await self._search_threads(_checked(params, SearchThreadsParams))

    @_operation
    async def list_turns(self, params: ListTurnsParams) -> TurnPage:
        """One page of a thread's turns (see :mod:`threadstore._contract.paging`), read without
        loading the whole history.

        Raises ``ThreadNotFound`` when the thread does not exist (or has stored nothing yet),
        ``InvalidRequest`` when it is archived and ``include_archived`` is false, or when the
        cursor's turn is no longer there."""
        return await self._list_turns(_checked(params, ListTurnsParams))

    @_operation
    async def list_items(self, params: ListItemsParams) -> ItemPage:
        """One page of the items a thread's turns show (see :mod:`threadstore._contract.paging`),
        read without loading the whole history. Errors as :meth:`list_turns`, and
        ``InvalidRequest`` for a ``turn_id`` no turn of the thread has."""
        return await self._list_items(_checked(params, ListItemsParams))

    # -- metadata and lifecycle of stored threads ---------------------------------------------

    @_operation
    async def update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        """Apply a literal metadata patch and return the updated thread. All or nothing: a patch
        that fails changes nothing."""
        return await self._update_thread_metadata(_checked(params, UpdateThreadMetadataParams))

    @_operation
    async def archive_thread(self, thread_id: str) -> None:
        """Move a thread to the archived collection. ``ThreadNotFound`` when absent,
        ``InvalidRequest`` when already archived."""
        await self._archive_thread(validate_thread_id(thread_id))

    @_operation
    async def unarchive_thread(self, thread_id: str) -> StoredThread:
        """Move a thread back to the active collection and return it. ``ThreadNotFound`` when
        absent, ``InvalidRequest`` when not archived."""
        return await self._unarchive_thread(validate_thread_id(thread_id))

    @_operation
    async def delete_thread(self, thread_id: str) -> None:
        """Delete a thread and everything stored for it (a live writer of it is discarded).
        Raises ``ThreadNotFound`` when absent."""
        await self._delete_thread(validate_thread_id(thread_id))

    # -- resources -------------------------------------------------------------------------------

    async def close(self) -> None:
        """Shut every live writer of this store down (flushing it; one whose flush fails is
        discarded), then release the store's resources. Idempotent; every later operation raises
        ``InvalidRequest``."""
        if self._closed:
            return
        try:
            await self._close()
        except ThreadStoreError:
            raise
        except Exception as exc:
            raise self._map_error(exc) from exc
        finally:
            self._closed = True

    async def __aenter__(self: S) -> S:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- hooks -----------------------------------------------------------------------------------

    def _map_error(self, exc: Exception) -> ThreadStoreError:
        """The store error a foreign exception raised by a hook stands for. Backends map their
        driver's and the operating system's errors (a full disk is ``ResourceExhausted``)."""
        return Internal(f"{type(exc).__name__}: {exc}")

    @abc.abstractmethod
    async def _create_thread(self, params: CreateThreadParams) -> None: ...

    @abc.abstractmethod
    async def _resume_thread(self, params: ResumeThreadParams) -> None: ...

    @abc.abstractmethod
    async def _append_items(self, thread_id: str, items: PersistedItems, idempotency_key: str | None = None) -> None:
        """Store what the policy keeps of one append (``items`` is never empty), once per
        ``idempotency_key`` when one is given."""

    @abc.abstractmethod
    async def _persist_thread(self, thread_id: str) -> None: ...

    @abc.abstractmethod
    async def _flush_thread(self, thread_id: str) -> None: ...

    @abc.abstractmethod
    async def _shutdown_thread(self, thread_id: str) -> None: ...

    @abc.abstractmethod
    async def _discard_thread(self, thread_id: str) -> None: ...

    @abc.abstractmethod
    async def _load_history(self, params: LoadThreadHistoryParams) -> StoredThreadHistory: ...

    @abc.abstractmethod
    async def _read_thread(self, params: ReadThreadParams) -> StoredThread: ...

    async def _read_thread_by_rollout_path(self, params: ReadThreadByRolloutPathParams) -> StoredThread:
        raise Unsupported("read_thread_by_rollout_path")

    @abc.abstractmethod
    async def _list_threads(self, params: ListThreadsParams) -> ThreadPage: ...

    @abc.abstractmethod
    async def _search_threads(self, params: SearchThreadsParams) -> ThreadSearchPage: ...

    async def _list_turns(self, params: ListTurnsParams) -> TurnPage:
        raise Unsupported("list_turns")

    async def _list_items(self, params: ListItemsParams) -> ItemPage:
        raise Unsupported("list_items")

    @abc.abstractmethod
    async def _update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread: ...

    @abc.abstractmethod
    async def _archive_thread(self, thread_id: str) -> None: ...

    @abc.abstractmethod
    async def _unarchive_thread(self, thread_id: str) -> StoredThread: ...

    @abc.abstractmethod
    async def _delete_thread(self, thread_id: str) -> None: ...

    async def _close(self) -> None:
        """Release the store's resources (live writers included)."""

    async def _apply_resume_defaults(self, params: ResumeThreadParams) -> None:
        """Give a resumed thread whose history records no cwd or provider the ones the resume
        named (see :meth:`resume_thread`). Stores that forward the resume to another store (the
        remote client) leave this to it."""
        from threadstore._contract.patch import ThreadMetadataPatch

        thread = await self._read_thread(ReadThreadParams(params.thread_id, include_archived=True))
        fields: dict[str, Any] = {}
        if params.cwd and not thread.cwd:
            fields["cwd"] = params.cwd
        if params.model_provider and not thread.model_provider:
            fields["model_provider"] = params.model_provider
        if fields:
            await self._update_thread_metadata(
                UpdateThreadMetadataParams(params.thread_id, ThreadMetadataPatch(**fields), include_archived=True)
            )
