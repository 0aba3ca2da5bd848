"""threadstore: durable conversation threads for AI-agent programs.

The storage contract is :class:`ThreadStore`; its backends are :class:`InMemoryThreadStore`,
:class:`LocalThreadStore` (Codex-compatible JSONL files plus a SQLite index),
:class:`PostgresThreadStore` (``threadstore[postgres]``) and :class:`RemoteThreadStore`
(``threadstore[grpc]``, a client of ``threadstore serve``). Above the store, the runtime runs
threads: :class:`ThreadManager`, :class:`Thread`, :class:`ThreadConfig`.

Importing the package is cheap: every name below is loaded on first use, and a backend's
dependencies only when that backend is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
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

if TYPE_CHECKING:
    from . import items
    from .items import Item
    from .remote import RemoteThreadStore
    from .runtime import Event, Thread, ThreadConfig, ThreadManager
    from .store.base import ThreadStore
    from .store.listing import (
        ListThreadsParams,
        SearchThreadsParams,
        StoredThreadSearchResult,
        ThreadPage,
        ThreadSearchPage,
    )
    from .store.local import LocalThreadStore
    from .store.memory import InMemoryThreadStore
    from .store.paging import (
        ItemPage,
        ListItemsParams,
        ListTurnsParams,
        StoredThreadItem,
        StoredTurn,
        StoredTurnError,
        TurnPage,
    )
    from .store.patch import UNSET, GitInfoPatch, ThreadMetadataPatch
    from .store.postgres import PostgresThreadStore
    from .store.types import (
        AppendThreadItemsParams,
        CreateThreadParams,
        GitInfo,
        LoadThreadHistoryParams,
        ReadThreadByRolloutPathParams,
        ReadThreadParams,
        ResumeThreadParams,
        StoredThread,
        StoredThreadHistory,
        TokenUsage,
        UpdateThreadMetadataParams,
    )

_TYPES = ".store.types"
_PAGING = ".store.paging"
_LISTING = ".store.listing"
_LAZY: dict[str, str] = {
    "items": ".items",
    "Item": ".items",
    "ThreadStore": ".store.base",
    "InMemoryThreadStore": ".store.memory",
    "LocalThreadStore": ".store.local",
    "PostgresThreadStore": ".store.postgres",
    "RemoteThreadStore": ".remote",
    "UNSET": ".store.patch",
    "GitInfoPatch": ".store.patch",
    "ThreadMetadataPatch": ".store.patch",
    "Event": ".runtime",
    "Thread": ".runtime",
    "ThreadConfig": ".runtime",
    "ThreadManager": ".runtime",
    **dict.fromkeys(
        ("ListThreadsParams", "SearchThreadsParams", "StoredThreadSearchResult", "ThreadPage", "ThreadSearchPage"),
        _LISTING,
    ),
    **dict.fromkeys(
        (
            "ItemPage",
            "ListItemsParams",
            "ListTurnsParams",
            "StoredThreadItem",
            "StoredTurn",
            "StoredTurnError",
            "TurnPage",
        ),
        _PAGING,
    ),
    **dict.fromkeys(
        (
            "AppendThreadItemsParams",
            "CreateThreadParams",
            "GitInfo",
            "LoadThreadHistoryParams",
            "ReadThreadByRolloutPathParams",
            "ReadThreadParams",
            "ResumeThreadParams",
            "StoredThread",
            "StoredThreadHistory",
            "TokenUsage",
            "UpdateThreadMetadataParams",
        ),
        _TYPES,
    ),
}

__all__ = [
    "UNSET",
    "AppendThreadItemsParams",
    "Conflict",
    "CreateThreadParams",
    "Event",
    "GitInfo",
    "GitInfoPatch",
    "InMemoryThreadStore",
    "Internal",
    "InvalidRequest",
    "Item",
    "ItemPage",
    "ListItemsParams",
    "ListThreadsParams",
    "ListTurnsParams",
    "LoadThreadHistoryParams",
    "LocalThreadStore",
    "PostgresThreadStore",
    "ReadThreadByRolloutPathParams",
    "ReadThreadParams",
    "RemoteThreadStore",
    "ResourceExhausted",
    "ResumeThreadParams",
    "SearchThreadsParams",
    "StoredThread",
    "StoredThreadHistory",
    "StoredThreadItem",
    "StoredThreadSearchResult",
    "StoredTurn",
    "StoredTurnError",
    "Thread",
    "ThreadConfig",
    "ThreadManager",
    "ThreadMetadataPatch",
    "ThreadNotFound",
    "ThreadPage",
    "ThreadSearchPage",
    "ThreadStore",
    "ThreadStoreError",
    "TokenUsage",
    "TurnPage",
    "Unsupported",
    "UpdateThreadMetadataParams",
    "__version__",
    "items",
    "new_thread_id",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'threadstore' has no attribute {name!r}")
    loaded = importlib.import_module(module, __name__)
    value = loaded if name == "items" else getattr(loaded, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
