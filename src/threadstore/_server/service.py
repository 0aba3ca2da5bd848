"""The RPC implementations: each turns one request message into one store call.

Transport concerns (authentication, status codes, logging, limits) live in
:mod:`threadstore._server.app`; this module only translates. It never opens a path a client
sends: ``ResumeThread`` with a ``rollout_path`` and ``ReadThreadByRolloutPath`` are refused with
``InvalidRequest`` ("the server does not open client-supplied paths").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from google.protobuf.message import Message

from threadstore._contract.base import ThreadStore
from threadstore._ids import validate_thread_id
from threadstore._server.deferred import DeferredCreateStore
from threadstore._server.leases import WriterLeases
from threadstore._wire import convert
from threadstore._wire._proto import thread_store_pb2 as pb
from threadstore.errors import InvalidRequest

__all__ = ["Handler", "ThreadStoreService"]

Handler = Callable[[Any], Awaitable[Message]]

_EMPTY = pb.Empty()


class ThreadStoreService:
    """Serves ``codex.thread_store.v1`` over ``store`` (any backend).

    Creates without a cwd (real Codex clients) go through :class:`DeferredCreateStore`;
    ``default_model_provider`` is the provider such a thread gets when its items never name one.
    """

    def __init__(
        self,
        store: ThreadStore,
        *,
        default_model_provider: str = "",
        idle_writer_timeout: float | None = None,
    ) -> None:
        self.store = store
        #: The live calls, through the creates held until a Codex thread's cwd is known.
        self.live = DeferredCreateStore(store, default_model_provider=default_model_provider)
        #: Releases writers idle for longer than ``idle_writer_timeout`` seconds (see leases.py).
        self.leases = WriterLeases(self.live, idle_writer_timeout)

    async def close(self) -> None:
        """Carry out the held creates, then close the store (live threads are flushed)."""
        try:
            await self.live.close()
        finally:
            await self.store.close()

    def handlers(self) -> dict[str, Handler]:
        """Every RPC of the service, by method name."""
        return {
            "CreateThread": self.create_thread,
            "ResumeThread": self.resume_thread,
            "AppendItems": self.append_items,
            "PersistThread": self.persist_thread,
            "FlushThread": self.flush_thread,
            "ShutdownThread": self.shutdown_thread,
            "DiscardThread": self.discard_thread,
            "LoadHistory": self.load_history,
            "ReadThread": self.read_thread,
            "ListThreads": self.list_threads,
            "UpdateThreadMetadata": self.update_thread_metadata,
            "ArchiveThread": self.archive_thread,
            "UnarchiveThread": self.unarchive_thread,
            "DeleteThread": self.delete_thread,
            "SearchThreads": self.search_threads,
            "ReadThreadByRolloutPath": self.read_thread_by_rollout_path,
            "ListTurns": self.list_turns,
            "ListItems": self.list_items,
        }

    async def create_thread(self, request: pb.CreateThreadRequest) -> pb.Empty:
        params, located = convert.create_from_proto(request)
        await self.leases.take_over(params.thread_id)
        if located:
            await self.live.create_thread(params)
        else:
            await self.live.create_thread_deferred(params)
        self.leases.opened(params.thread_id, params.event_persistence_mode)
        return _EMPTY

    async def resume_thread(self, request: pb.ResumeThreadRequest) -> pb.Empty:
        params = convert.resume_from_proto(request)
        await self.leases.take_over(params.thread_id)
        await self.live.resume_thread(params)
        self.leases.opened(params.thread_id, params.event_persistence_mode)
        return _EMPTY

    async def append_items(self, request: pb.AppendThreadItemsRequest) -> pb.Empty:
        params = convert.append_from_proto(request)
        if params.persisted:  # only these need the writer
            await self.leases.use(params.thread_id)
        await self.live.append_items(params)
        return _EMPTY

    async def persist_thread(self, request: pb.ThreadIdRequest) -> pb.Empty:
        thread_id = _thread_id(request.thread_id)
        await self.leases.use(thread_id)
        await self.live.persist_thread(thread_id)
        return _EMPTY

    async def flush_thread(self, request: pb.ThreadIdRequest) -> pb.Empty:
        thread_id = _thread_id(request.thread_id)
        await self.leases.use(thread_id)
        await self.live.flush_thread(thread_id)
        return _EMPTY

    async def shutdown_thread(self, request: pb.ThreadIdRequest) -> pb.Empty:
        thread_id = _thread_id(request.thread_id)
        self.leases.check_owner(thread_id)
        if not self.leases.closed(thread_id):  # a released writer is already shut down
            await self.live.shutdown_thread(thread_id)
        return _EMPTY

    async def discard_thread(self, request: pb.ThreadIdRequest) -> pb.Empty:
        thread_id = _thread_id(request.thread_id)
        self.leases.check_owner(thread_id)
        self.leases.closed(thread_id)
        await self.live.discard_thread(thread_id)
        return _EMPTY

    async def load_history(self, request: pb.LoadThreadHistoryRequest) -> pb.StoredThreadHistory:
        history = await self.store.load_history(convert.load_history_from_proto(request))
        return convert.history_to_proto(history)

    async def read_thread(self, request: pb.ReadThreadRequest) -> pb.StoredThreadResponse:
        thread = await self.store.read_thread(convert.read_from_proto(request))
        return pb.StoredThreadResponse(thread=convert.thread_to_proto(thread))

    async def list_threads(self, request: pb.ListThreadsRequest) -> pb.ListThreadsResponse:
        page = await self.store.list_threads(convert.list_from_proto(request))
        return convert.page_to_proto(page)

    async def list_turns(self, request: pb.ListTurnsRequest) -> pb.ListTurnsResponse:
        page = await self.store.list_turns(convert.list_turns_from_proto(request))
        return convert.turn_page_to_proto(page)

    async def list_items(self, request: pb.ListItemsRequest) -> pb.ListItemsResponse:
        page = await self.store.list_items(convert.list_items_from_proto(request))
        return convert.item_page_to_proto(page)

    async def update_thread_metadata(self, request: pb.UpdateThreadMetadataRequest) -> pb.StoredThreadResponse:
        thread = await self.live.update_thread_metadata(convert.update_from_proto(request))
        return pb.StoredThreadResponse(thread=convert.thread_to_proto(thread))

    async def archive_thread(self, request: pb.ArchiveThreadRequest) -> pb.Empty:
        await self.store.archive_thread(_thread_id(request.thread_id))
        return _EMPTY

    async def unarchive_thread(self, request: pb.ArchiveThreadRequest) -> pb.StoredThreadResponse:
        thread = await self.store.unarchive_thread(_thread_id(request.thread_id))
        return pb.StoredThreadResponse(thread=convert.thread_to_proto(thread))

    async def delete_thread(self, request: pb.DeleteThreadRequest) -> pb.Empty:
        await self.store.delete_thread(_thread_id(request.thread_id))
        return _EMPTY

    async def search_threads(self, request: pb.SearchThreadsRequest) -> pb.SearchThreadsResponse:
        page = await self.store.search_threads(convert.search_from_proto(request))
        return convert.search_page_to_proto(page)

    async def read_thread_by_rollout_path(self, request: pb.ReadThreadByRolloutPathRequest) -> pb.StoredThreadResponse:
        raise InvalidRequest(convert.PATH_REFUSED)


def _thread_id(value: str) -> str:
    """A well-formed thread id (``InvalidRequest`` otherwise), checked before the leases see it."""
    return validate_thread_id(value)
