"""``RemoteThreadStore``: the :class:`ThreadStore` contract over gRPC ``codex.thread_store.v1``.

One ``grpc.aio`` channel is opened lazily and reused for every call (it is re-opened if the
store is used from another event loop). Every call has a deadline (``timeout``). The idempotent
reads (``read_thread``, ``list_threads``, ``load_history``, ``search_threads``, ``list_turns``,
``list_items``) are retried when the server is ``UNAVAILABLE``. Appends are retried too, when
the server is ``UNAVAILABLE`` or the deadline passed (the answer may have been lost after the
server stored the items): every append carries an idempotency key (the caller's, or a fresh one
per call) that each attempt repeats, so the server stores it once. Other writes are never
retried, so they are applied at most once. Failures become the store's own errors (see
:mod:`threadstore._wire.status`).

The server owns every live writer; this client remembers the threads it created or resumed, and
:meth:`RemoteThreadStore.close` shuts them down (flushes them) before closing the channel, like
any other store's ``close``. ``shutdown_thread`` and ``discard_thread`` run to completion even if
the caller is cancelled. ``read_thread_by_rollout_path`` raises ``Unsupported``: the server never
opens client-supplied paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final, TypeVar
from urllib.parse import urlsplit

import grpc
from google.protobuf.message import Message

from threadstore._aio import run_detached
from threadstore._contract.base import ThreadStore
from threadstore._contract.listing import ListThreadsParams, SearchThreadsParams, ThreadPage, ThreadSearchPage
from threadstore._contract.paging import ItemPage, ListItemsParams, ListTurnsParams, TurnPage
from threadstore._contract.patch import UpdateThreadMetadataParams
from threadstore._contract.types import (
    CreateThreadParams,
    LoadThreadHistoryParams,
    ReadThreadParams,
    ResumeThreadParams,
    StoredThread,
    StoredThreadHistory,
)
from threadstore._rollout.policy import PersistedItems
from threadstore._wire import convert
from threadstore._wire._proto import thread_store_pb2 as pb
from threadstore._wire.methods import METHODS, WRITER_METADATA_KEY, path_of
from threadstore._wire.status import error_of
from threadstore.errors import Internal, InvalidRequest, ThreadStoreError

__all__ = ["DEFAULT_TIMEOUT", "RemoteThreadStore", "parse_grpc_url"]

R = TypeVar("R", bound=Message)
T = TypeVar("T")

DEFAULT_TIMEOUT: Final = 60.0
DEFAULT_MAX_SEND_BYTES: Final = 64 * 1024 * 1024
_READ_ATTEMPTS: Final = 4
_RETRY_BASE_DELAY: Final = 0.1
_READ_RETRIED: Final = frozenset({grpc.StatusCode.UNAVAILABLE})
_APPEND_RETRIED: Final = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})

_SCHEMES: Final = {"grpc": False, "http": False, "grpcs": True, "https": True}


def parse_grpc_url(url: str) -> tuple[str, bool]:
    """``grpc://HOST:PORT`` (or ``grpcs://``, ``http://``, ``https://``) as (target, tls).

    Raises :class:`InvalidRequest` for anything else."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unbalanced IPv6 bracket, say
        raise InvalidRequest(f"not a gRPC store URL ({exc}): {url!r}") from None
    if parts.scheme not in _SCHEMES:
        raise InvalidRequest(f"not a gRPC store URL (expected grpc://HOST:PORT): {url!r}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or parts.path not in ("", "/") or parts.query:
        raise InvalidRequest(f"a gRPC store URL needs exactly a host and a port (grpc://HOST:PORT): {url!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}", _SCHEMES[parts.scheme]


class RemoteThreadStore(ThreadStore):
    """A client of a thread-store server (``threadstore serve``).

    ``url`` is ``grpc://HOST:PORT`` (plain) or ``grpcs://HOST:PORT`` (TLS; ``ca_file`` names
    the PEM roots to trust, else the system's). ``token`` is sent as
    ``authorization: Bearer <token>`` on every call. ``timeout`` is each call's deadline in
    seconds. ``writer_id`` (ASCII, no ``/``) names the client across restarts: a client opened
    again with the same one (the same program, restarted after a crash) takes over the writers
    its predecessor left open on the server when it creates or resumes their threads; two
    clients in use at the same time must never share one.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        tls: bool | None = None,
        ca_file: str | Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_send_bytes: int = DEFAULT_MAX_SEND_BYTES,
        writer_id: str | None = None,
    ) -> None:
        target, url_tls = parse_grpc_url(url)
        self.url = url
        self.target = target
        self.tls = url_tls if tls is None else tls
        self.ca_file = Path(ca_file) if ca_file is not None else None
        if self.ca_file is not None:
            self.tls = True
        self.timeout = timeout
        self.max_send_bytes = max_send_bytes
        # Every call carries this client's writer token: the server refuses live calls on a
        # thread whose writer another client opened (Conflict), as a local store would.
        instance = uuid.uuid4().hex
        if writer_id is not None and (not writer_id or "/" in writer_id or not writer_id.isascii()):
            raise InvalidRequest("writer_id must be ASCII text without '/'")
        writer = (WRITER_METADATA_KEY, f"{writer_id}/{instance}" if writer_id else instance)
        self._metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {token}"), writer) if token else (writer,)
        )
        self._channel: grpc.aio.Channel | None = None
        self._channel_loop: asyncio.AbstractEventLoop | None = None
        self._stubs: dict[str, grpc.aio.UnaryUnaryMultiCallable[Message, Message]] = {}
        self._live: set[str] = set()
        #: How the client waits between attempts (tests replace it to count the retries).
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def __repr__(self) -> str:
        return f"RemoteThreadStore({self.url!r})"

    # -- transport -------------------------------------------------------------------------------

    def _open_channel(self) -> grpc.aio.Channel:
        loop = asyncio.get_running_loop()
        if self._channel is not None and self._channel_loop is loop:
            return self._channel
        options = [
            ("grpc.max_receive_message_length", -1),
            ("grpc.max_send_message_length", self.max_send_bytes),
        ]
        if self.tls:
            try:
                roots = self.ca_file.read_bytes() if self.ca_file is not None else None
            except OSError as exc:
                raise InvalidRequest(f"cannot read CA file: {exc}") from None
            channel = grpc.aio.secure_channel(self.target, grpc.ssl_channel_credentials(roots), options=options)
        else:
            channel = grpc.aio.insecure_channel(self.target, options=options)
        self._channel, self._channel_loop = channel, loop
        self._stubs = {}
        return channel

    def _stub(self, name: str) -> grpc.aio.UnaryUnaryMultiCallable[Message, Message]:
        channel = self._open_channel()
        stub = self._stubs.get(name)
        if stub is None:
            spec = METHODS[name]
            stub = channel.unary_unary(
                path_of(name),
                request_serializer=spec.request.SerializeToString,
                response_deserializer=spec.response.FromString,
            )
            self._stubs[name] = stub
        return stub

    async def _call(
        self,
        name: str,
        request: Message,
        response_type: type[R],
        thread_id: str | None = None,
        *,
        retried: frozenset[grpc.StatusCode] | None = None,
    ) -> R:
        """One RPC; idempotent methods (and calls that name the ``retried`` codes) are tried up to
        four times, with growing waits, while they fail with a retried code."""
        if retried is None:
            retried = _READ_RETRIED if METHODS[name].idempotent else frozenset()
        attempts = _READ_ATTEMPTS if retried else 1
        for attempt in range(attempts):
            try:
                response = await self._stub(name)(request, timeout=self.timeout, metadata=self._metadata)
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                if code in retried and attempt + 1 < attempts:
                    await self._sleep(_RETRY_BASE_DELAY * 2**attempt)
                    continue
                raise error_of(code, exc.details(), exc.trailing_metadata(), thread_id) from None
            if not isinstance(response, response_type):
                raise Internal(f"remote thread store sent a {type(response).__name__} for {name}")
            return response
        raise AssertionError("unreachable")

    def _thread(self, response: pb.StoredThreadResponse, name: str) -> StoredThread:
        if not response.HasField("thread"):
            raise Internal(f"remote thread store omitted the {name} response thread")
        return convert.thread_from_proto(response.thread)

    # -- live writer lifecycle -------------------------------------------------------------------

    async def _create_thread(self, params: CreateThreadParams) -> None:
        await self._call("CreateThread", convert.create_to_proto(params), pb.Empty, params.thread_id)
        self._live.add(params.thread_id)

    async def _resume_thread(self, params: ResumeThreadParams) -> None:
        await self._call("ResumeThread", convert.resume_to_proto(params), pb.Empty, params.thread_id)
        self._live.add(params.thread_id)

    async def _apply_resume_defaults(self, params: ResumeThreadParams) -> None:
        """The server applies the resume's defaults (they travel in ``metadata_defaults_json``)."""

    async def _append_items(self, thread_id: str, items: PersistedItems, idempotency_key: str | None = None) -> None:
        # Only what some mode keeps crosses the network; the server applies the thread's mode.
        # Every attempt carries the same key, so a retry after a lost answer stores nothing twice.
        request = pb.AppendThreadItemsRequest(
            thread_id=thread_id,
            items_json=convert.items_to_wire(items.items, "items"),
            idempotency_key=idempotency_key or uuid.uuid4().hex,
            exact=items.exact,
        )
        await self._call("AppendItems", request, pb.Empty, thread_id, retried=_APPEND_RETRIED)

    async def _id_call(self, name: str, thread_id: str) -> None:
        await self._call(name, pb.ThreadIdRequest(thread_id=thread_id), pb.Empty, thread_id)

    async def _persist_thread(self, thread_id: str) -> None:
        await self._id_call("PersistThread", thread_id)

    async def _flush_thread(self, thread_id: str) -> None:
        await self._id_call("FlushThread", thread_id)

    async def _shutdown_thread(self, thread_id: str) -> None:
        async def work() -> None:
            await self._id_call("ShutdownThread", thread_id)
            self._live.discard(thread_id)

        await run_detached(work)

    async def _discard_thread(self, thread_id: str) -> None:
        async def work() -> None:
            await self._id_call("DiscardThread", thread_id)
            self._live.discard(thread_id)

        await run_detached(work)

    # -- reads -----------------------------------------------------------------------------------

    async def _load_history(self, params: LoadThreadHistoryParams) -> StoredThreadHistory:
        response = await self._call(
            "LoadHistory", convert.load_history_to_proto(params), pb.StoredThreadHistory, params.thread_id
        )
        return convert.history_from_proto(response)

    async def _read_thread(self, params: ReadThreadParams) -> StoredThread:
        response = await self._call(
            "ReadThread", convert.read_to_proto(params), pb.StoredThreadResponse, params.thread_id
        )
        return self._thread(response, "read_thread")

    async def _list_threads(self, params: ListThreadsParams) -> ThreadPage:
        response = await self._call("ListThreads", convert.list_to_proto(params), pb.ListThreadsResponse)
        return convert.page_from_proto(response)

    async def _search_threads(self, params: SearchThreadsParams) -> ThreadSearchPage:
        response = await self._call("SearchThreads", convert.search_to_proto(params), pb.SearchThreadsResponse)
        return convert.search_page_from_proto(response)

    async def _list_turns(self, params: ListTurnsParams) -> TurnPage:
        response = await self._call(
            "ListTurns", convert.list_turns_to_proto(params), pb.ListTurnsResponse, params.thread_id
        )
        return convert.turn_page_from_proto(response)

    async def _list_items(self, params: ListItemsParams) -> ItemPage:
        response = await self._call(
            "ListItems", convert.list_items_to_proto(params), pb.ListItemsResponse, params.thread_id
        )
        return convert.item_page_from_proto(response)

    # -- metadata and lifecycle of stored threads ---------------------------------------------

    async def _update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        response = await self._call(
            "UpdateThreadMetadata", convert.update_to_proto(params), pb.StoredThreadResponse, params.thread_id
        )
        return self._thread(response, "update_thread_metadata")

    async def _archive_thread(self, thread_id: str) -> None:
        await self._call("ArchiveThread", pb.ArchiveThreadRequest(thread_id=thread_id), pb.Empty, thread_id)

    async def _unarchive_thread(self, thread_id: str) -> StoredThread:
        request = pb.ArchiveThreadRequest(thread_id=thread_id)
        response = await self._call("UnarchiveThread", request, pb.StoredThreadResponse, thread_id)
        return self._thread(response, "unarchive_thread")

    async def _delete_thread(self, thread_id: str) -> None:
        await self._call("DeleteThread", pb.DeleteThreadRequest(thread_id=thread_id), pb.Empty, thread_id)
        self._live.discard(thread_id)

    # -- resources -------------------------------------------------------------------------------

    async def _close(self) -> None:
        """Shut down (flush) the threads this client opened, then close the channel. A thread
        that cannot be shut down is discarded."""
        for thread_id in sorted(self._live):
            try:
                await self._shutdown_thread(thread_id)
            except ThreadStoreError:
                with contextlib.suppress(ThreadStoreError):
                    await self._discard_thread(thread_id)
        self._live.clear()
        channel, self._channel = self._channel, None
        if channel is not None and self._channel_loop is asyncio.get_running_loop():
            await channel.close()
