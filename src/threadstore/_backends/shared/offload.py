"""A store served from a thread of its own: the one boundary between a server's event loop and a
backend whose work blocks (the local store's file and SQLite calls).

:class:`OffloadedStore` runs another store on an event loop of its own, on a thread of its own,
and forwards every operation to it: a call crosses to that loop, runs there (its file and
database work blocking that loop only), and its result or error crosses back. The caller's event
loop never waits for a disk, so a server keeps answering its other clients, its health checks and
its transport while one client's request reads a large file or syncs one. Operations keep their
order per caller (each awaits its answer); the backend serializes what it must, as it does on any
loop. Cancelling a caller cancels its operation over there (a discard still finishes: the backend
shields it). In one program with one event loop the backend inline is faster (no thread hop, about
50 microseconds), so this is what servers open (``open_store(url, offload=True)``), not the
default.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from threadstore._contract.base import ThreadStore
from threadstore._contract.features import IndexProgress, ProgressCallback
from threadstore._contract.listing import ListThreadsParams, SearchThreadsParams, ThreadPage, ThreadSearchPage
from threadstore._contract.paging import ItemPage, ListItemsParams, ListTurnsParams, TurnPage
from threadstore._contract.patch import UpdateThreadMetadataParams
from threadstore._contract.types import (
    CreateThreadParams,
    LoadThreadHistoryParams,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    StoredThread,
    StoredThreadHistory,
)
from threadstore._rollout.policy import PersistedItems
from threadstore.errors import ThreadStoreError

__all__ = ["OffloadedStore"]

T = TypeVar("T")


class OffloadedStore(ThreadStore):
    """The store ``open_inner()`` makes, run on a thread of its own (see the module
    documentation). ``open_inner`` is called on that thread."""

    def __init__(self, open_inner: Callable[[], ThreadStore], *, name: str = "threadstore-store") -> None:
        super().__init__()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

        async def make() -> ThreadStore:
            return open_inner()

        try:
            self.inner = asyncio.run_coroutine_threadsafe(make(), self._loop).result()
        except BaseException:
            self._stop_loop()
            raise

    async def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._loop))

    def _map_error(self, exc: Exception) -> ThreadStoreError:
        return self.inner._map_error(exc)

    @property
    def index_progress(self) -> ProgressCallback | None:
        """The inner store's progress callback, when it reports index progress (the callback
        is called on the inner store's thread)."""
        return self.inner.index_progress if isinstance(self.inner, IndexProgress) else None

    @index_progress.setter
    def index_progress(self, callback: ProgressCallback | None) -> None:
        if isinstance(self.inner, IndexProgress):
            self.inner.index_progress = callback

    # -- the hooks, each forwarded -------------------------------------------------------------

    async def _create_thread(self, params: CreateThreadParams) -> None:
        await self._run(self.inner._create_thread(params))

    async def _resume_thread(self, params: ResumeThreadParams) -> None:
        await self._run(self.inner._resume_thread(params))

    async def _append_items(self, thread_id: str, items: PersistedItems, idempotency_key: str | None = None) -> None:
        await self._run(self.inner._append_items(thread_id, items, idempotency_key))

    async def _persist_thread(self, thread_id: str) -> None:
        await self._run(self.inner._persist_thread(thread_id))

    async def _flush_thread(self, thread_id: str) -> None:
        await self._run(self.inner._flush_thread(thread_id))

    async def _shutdown_thread(self, thread_id: str) -> None:
        await self._run(self.inner._shutdown_thread(thread_id))

    async def _discard_thread(self, thread_id: str) -> None:
        await self._run(self.inner._discard_thread(thread_id))

    async def _load_history(self, params: LoadThreadHistoryParams) -> StoredThreadHistory:
        return await self._run(self.inner._load_history(params))

    async def _read_thread(self, params: ReadThreadParams) -> StoredThread:
        return await self._run(self.inner._read_thread(params))

    async def _read_thread_by_rollout_path(self, params: ReadThreadByRolloutPathParams) -> StoredThread:
        return await self._run(self.inner._read_thread_by_rollout_path(params))

    async def _list_threads(self, params: ListThreadsParams) -> ThreadPage:
        return await self._run(self.inner._list_threads(params))

    async def _search_threads(self, params: SearchThreadsParams) -> ThreadSearchPage:
        return await self._run(self.inner._search_threads(params))

    async def _list_turns(self, params: ListTurnsParams) -> TurnPage:
        return await self._run(self.inner._list_turns(params))

    async def _list_items(self, params: ListItemsParams) -> ItemPage:
        return await self._run(self.inner._list_items(params))

    async def _update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        return await self._run(self.inner._update_thread_metadata(params))

    async def _archive_thread(self, thread_id: str) -> None:
        await self._run(self.inner._archive_thread(thread_id))

    async def _unarchive_thread(self, thread_id: str) -> StoredThread:
        return await self._run(self.inner._unarchive_thread(thread_id))

    async def _delete_thread(self, thread_id: str) -> None:
        await self._run(self.inner._delete_thread(thread_id))

    async def _apply_resume_defaults(self, params: ResumeThreadParams) -> None:
        await self._run(self.inner._apply_resume_defaults(params))

    async def _close(self) -> None:
        try:
            await self._run(self.inner.close())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
