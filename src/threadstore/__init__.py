"""threadstore: durable conversation threads for AI-agent programs.

This module is the public surface: every name below, plus the modules :mod:`threadstore.items`
(rollout items and their builders), :mod:`threadstore.models` (model clients for the runtime),
:mod:`threadstore.transfer` (exact copies, exports and imports), :mod:`threadstore.testing` (the
conformance kit) and :mod:`threadstore.integrations` (the agent frameworks). Modules whose names
start with ``_`` are internal and may change without notice.

The storage contract is :class:`ThreadStore`; its backends are :class:`InMemoryThreadStore`,
:class:`LocalThreadStore` (Codex-compatible JSONL files plus a SQLite index),
:class:`PostgresThreadStore` (``threadstore[postgres]``) and :class:`RemoteThreadStore`
(``threadstore[grpc]``, a client of ``threadstore serve``); :func:`open_store` opens any of them,
or a backend another package registers, from a store URL. Above the store, the runtime runs
threads: :class:`ThreadManager`, :class:`Thread`, :class:`ThreadConfig`.

Importing the package is cheap: every name below is loaded on first use, and a backend's
dependencies only when that backend is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from threadstore._extras import import_module
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
    from threadstore import items, models, transfer
    from threadstore._backends.local import LocalThreadStore
    from threadstore._backends.memory import InMemoryThreadStore
    from threadstore._backends.postgres import PostgresThreadStore
    from threadstore._backends.registry import default_store_url, open_store, register_backend
    from threadstore._backends.remote import RemoteThreadStore
    from threadstore._contract.base import ThreadStore
    from threadstore._contract.features import IndexProgress, Reindexable, ReindexReport, RolloutFiles
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
    from threadstore._contract.patch import UNSET, GitInfoPatch, ThreadMetadataPatch, UpdateThreadMetadataParams
    from threadstore._contract.thread import GitInfo, StoredThread, StoredThreadHistory, TokenUsage
    from threadstore._contract.types import (
        AppendThreadItemsParams,
        CreateThreadParams,
        LoadThreadHistoryParams,
        ReadThreadByRolloutPathParams,
        ReadThreadParams,
        ResumeThreadParams,
    )
    from threadstore._runtime import Event, LiveThread, Thread, ThreadConfig, ThreadManager
    from threadstore.items import Item

_MODULES = frozenset({"items", "models", "transfer"})
_LAZY: dict[str, str] = {
    **dict.fromkeys(('ThreadStore',), 'threadstore._contract.base'),
    **dict.fromkeys(('AppendThreadItemsParams', 'CreateThreadParams', 'LoadThreadHistoryParams', 'ReadThreadByRolloutPathParams', 'ReadThreadParams', 'ResumeThreadParams'), 'threadstore._contract.types'),
    **dict.fromkeys(('GitInfo', 'StoredThread', 'StoredThreadHistory', 'TokenUsage'), 'threadstore._contract.thread'),
    **dict.fromkeys(('GitInfoPatch', 'ThreadMetadataPatch', 'UNSET', 'UpdateThreadMetadataParams'), 'threadstore._contract.patch'),
    **dict.fromkeys(('ListThreadsParams', 'SearchThreadsParams', 'StoredThreadSearchResult', 'ThreadPage', 'ThreadSearchPage'), 'threadstore._contract.listing'),
    **dict.fromkeys(('ItemPage', 'ListItemsParams', 'ListTurnsParams', 'StoredThreadItem', 'StoredTurn', 'StoredTurnError', 'TurnPage'), 'threadstore._contract.paging'),
    **dict.fromkeys(('IndexProgress', 'ReindexReport', 'Reindexable', 'RolloutFiles'), 'threadstore._contract.features'),
    **dict.fromkeys(('InMemoryThreadStore',), 'threadstore._backends.memory'),
    **dict.fromkeys(('LocalThreadStore',), 'threadstore._backends.local'),
    **dict.fromkeys(('PostgresThreadStore',), 'threadstore._backends.postgres'),
    **dict.fromkeys(('RemoteThreadStore',), 'threadstore._backends.remote'),
    **dict.fromkeys(('default_store_url', 'open_store', 'register_backend'), 'threadstore._backends.registry'),
    **dict.fromkeys(('Event', 'LiveThread', 'Thread', 'ThreadConfig', 'ThreadManager'), 'threadstore._runtime'),
    **dict.fromkeys(('Item',), 'threadstore.items'),
}

__all__ = [
    "AppendThreadItemsParams",
    "Conflict",
    "CreateThreadParams",
    "Event",
    "GitInfo",
    "GitInfoPatch",
    "InMemoryThreadStore",
    "IndexProgress",
    "Internal",
    "InvalidRequest",
    "Item",
    "ItemPage",
    "ListItemsParams",
    "ListThreadsParams",
    "ListTurnsParams",
    "LiveThread",
    "LoadThreadHistoryParams",
    "LocalThreadStore",
    "PostgresThreadStore",
    "ReadThreadByRolloutPathParams",
    "ReadThreadParams",
    "ReindexReport",
    "Reindexable",
    "RemoteThreadStore",
    "ResourceExhausted",
    "ResumeThreadParams",
    "RolloutFiles",
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
    "UNSET",
    "Unsupported",
    "UpdateThreadMetadataParams",
    "__version__",
    "default_store_url",
    "items",
    "models",
    "new_thread_id",
    "open_store",
    "register_backend",
    "transfer",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value: Any = importlib.import_module(f"threadstore.{name}")
    else:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'threadstore' has no attribute {name!r}")
        value = getattr(import_module(module, f"threadstore.{name}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
