"""The thread-store server: any :class:`~threadstore.ThreadStore` over gRPC
``codex.thread_store.v1`` (what ``threadstore serve`` runs, and what Codex's
``experimental_thread_store_endpoint`` talks to). Needs the ``grpc`` extra."""

from __future__ import annotations

from threadstore._server.app import DEFAULT_MAX_MESSAGE_BYTES, RunningServer, TlsFiles, serve, start_server
from threadstore._server.deferred import DeferredCreateStore
from threadstore._server.service import ThreadStoreService

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DeferredCreateStore",
    "RunningServer",
    "ThreadStoreService",
    "TlsFiles",
    "serve",
    "start_server",
]
