"""threadstore: durable conversation threads for AI-agent programs.

The storage contract is :class:`ThreadStore`; its backends are :class:`InMemoryThreadStore`,
:class:`LocalThreadStore` (Codex-compatible JSONL files plus a SQLite index) and, with the
matching extras installed, :class:`PostgresThreadStore` and the remote (gRPC) store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import items
from .errors import (
    Conflict,
    Internal,
    InvalidRequest,
    ResourceExhausted,
    ThreadNotFound,
    ThreadStoreError,
    Unsupported,
)
from .ids import new_thread_id
from .items import Item
from .store import (
    UNSET,
    AppendThreadItemsParams,
    CreateThreadParams,
    GitInfo,
    GitInfoPatch,
    InMemoryThreadStore,
    ListThreadsParams,
    LoadThreadHistoryParams,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    StoredThread,
    StoredThreadHistory,
    StoredThreadSearchResult,
    ThreadMetadataPatch,
    ThreadPage,
    ThreadSearchPage,
    ThreadStore,
    TokenUsage,
    UpdateThreadMetadataParams,
)

__version__ = "0.1.0"

__all__ = [
    "UNSET",
    "AppendThreadItemsParams",
    "Conflict",
    "CreateThreadParams",
    "GitInfo",
    "GitInfoPatch",
    "InMemoryThreadStore",
    "Internal",
    "InvalidRequest",
    "Item",
    "ListThreadsParams",
    "LoadThreadHistoryParams",
    "ReadThreadByRolloutPathParams",
    "ReadThreadParams",
    "ResourceExhausted",
    "ResumeThreadParams",
    "SearchThreadsParams",
    "StoredThread",
    "StoredThreadHistory",
    "StoredThreadSearchResult",
    "ThreadMetadataPatch",
    "ThreadNotFound",
    "ThreadPage",
    "ThreadSearchPage",
    "ThreadStore",
    "ThreadStoreError",
    "TokenUsage",
    "Unsupported",
    "UpdateThreadMetadataParams",
    "__version__",
    "items",
    "new_thread_id",
]

# The runtime layer: threads running above the store (see threadstore.runtime).
from .runtime import Event, Thread, ThreadConfig, ThreadManager
from .store.local import LocalThreadStore

__all__ += [
    "Event",
    "LocalThreadStore",
    "PostgresThreadStore",
    "RemoteThreadStore",
    "Thread",
    "ThreadConfig",
    "ThreadManager",
]

if TYPE_CHECKING:
    from .remote import RemoteThreadStore
    from .store.postgres import PostgresThreadStore


def __getattr__(name: str) -> Any:
    # The remote and PostgreSQL stores need optional extras (`grpc`, `postgres`): import them
    # only when asked for.
    if name == "RemoteThreadStore":
        from .remote import RemoteThreadStore

        return RemoteThreadStore
    if name == "PostgresThreadStore":
        from .store.postgres import PostgresThreadStore

        return PostgresThreadStore
    raise AttributeError(f"module 'threadstore' has no attribute {name!r}")
