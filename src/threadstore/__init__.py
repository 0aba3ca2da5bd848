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

from threadstore._ids import new_thread_id
from threadstore._version import __version__
from threadstore.errors import (
    Conflict,
    Internal,
    InvalidRequest,
    ResourceExhausted,
    ThreadNotFound,
    ThreadStoreError,
    Unsupported,
)

if TYPE_CHECKING:
    from threadstore import items
    from threadstore._backends.local import LocalThreadStore
    from threadstore._backends.memory import InMemoryThreadStore
    from threadstore._backends.postgres import PostgresThreadStore
    from threadstore._backends.remote import RemoteThreadStore
    from threadstore._contract.base import ThreadStore
    from threadstore._contract.listing import (
        ListThreadsParams,
        SearchThreadsParams,
        StoredThreadSearchResult,
        ThreadPage,
        ThreadSearchPage,
    )
    from threadstore._contract.paging import (
        ItemPage,
        ListItemsParams,
        ListTurnsParams,
        StoredThreadItem,
        StoredTurn,
        StoredTurnError,
        TurnPage,
    )
    from threadstore._contract.patch import UNSET, GitInfoPatch, ThreadMetadataPatch
    from threadstore._contract.types import (
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
    from threadstore._runtime import Event, Thread, ThreadConfig, ThreadManager
    from threadstore.items import Item

_TYPES = "threadstore._contract.types"
_PAGING = "threadstore._contract.paging"
_LISTING = "threadstore._contract.listing"
_LAZY: dict[str, str] = {
    "items": "threadstore.items",
    "Item": "threadstore.items",
    "ThreadStore": "threadstore._contract.base",
    "InMemoryThreadStore": "threadstore._backends.memory",
    "LocalThreadStore": "threadstore._backends.local",
    "PostgresThreadStore": "threadstore._backends.postgres",
    "RemoteThreadStore": "threadstore._backends.remote",
    "UNSET": "threadstore._contract.patch",
    "GitInfoPatch": "threadstore._contract.patch",
    "ThreadMetadataPatch": "threadstore._contract.patch",
    "Event": "threadstore._runtime",
    "Thread": "threadstore._runtime",
    "ThreadConfig": "threadstore._runtime",
    "ThreadManager": "threadstore._runtime",
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
    loaded = importlib.import_module(module)
    value = loaded if name == "items" else getattr(loaded, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
