"""Read methods: ``thread/read``, ``thread/list``, ``thread/loaded/list`` and ``thread/search``.

Reads never subscribe the caller and run concurrently with other requests. Threads are shown
with this server's view of their status (``notLoaded``, ``idle`` or ``active``).
``thread/search`` is full-text search over the threads' messages: ``{data: [{thread,
snippet}], nextCursor, backwardsCursor}`` in listing order (``backwardsCursor`` is always null
here: the stores page forward only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from threadstore._appserver.context import Reply, RequestContext
from threadstore._appserver.errors import RpcError
from threadstore._appserver.group import MethodGroup
from threadstore._appserver.params import Params
from threadstore._contract.listing import ListThreadsParams, SearchThreadsParams
from threadstore._contract.types import MAX_PAGE_SIZE, SessionSource, SortDirection, ThreadSortKey

__all__ = ["DEFAULT_SOURCE_KINDS", "ReadMethods", "page_size"]

DEFAULT_SOURCE_KINDS: Final = ("cli", "vscode")
"""What ``thread/list`` and ``thread/search`` show when ``sourceKinds`` is absent or empty."""

DEFAULT_LIMIT: Final = 50
"""Page size when ``limit`` is absent."""

_SOURCE_KINDS: Final[Mapping[str, SessionSource]] = {
    "cli": "cli",
    "vscode": "vscode",
    "exec": "exec",
    "appServer": "mcp",
    "unknown": "unknown",
    "subAgent": "subagent",
    "subAgentReview": {"subagent": "review"},
    "subAgentCompact": {"subagent": "compact"},
    "subAgentThreadSpawn": "subagent",
    "subAgentOther": "subagent",
}


def _sources(params: Params) -> list[SessionSource]:
    kinds = params.opt_str_list("sourceKinds") or list(DEFAULT_SOURCE_KINDS)
    sources: list[SessionSource] = []
    for kind in kinds:
        if kind not in _SOURCE_KINDS:
            raise RpcError.invalid_params(f"Invalid params: unknown source kind {kind!r}")
        sources.append(_SOURCE_KINDS[kind])
    return sources


def _sort(params: Params) -> tuple[ThreadSortKey, SortDirection]:
    key: ThreadSortKey = (
        "updated_at"
        if params.choice("sortKey", ("created_at", "updated_at"), "created_at") == "updated_at"
        else "created_at"
    )
    direction: SortDirection = "asc" if params.choice("sortDirection", ("asc", "desc"), "desc") == "asc" else "desc"
    return key, direction


def page_size(params: Params) -> int:
    """The page size a request asks for (``limit``; at least 1, at most the stores' maximum)."""
    return min(params.opt_int("limit", minimum=1) or DEFAULT_LIMIT, MAX_PAGE_SIZE)


class ReadMethods(MethodGroup):
    async def thread_read(self, params: Params, ctx: RequestContext) -> Reply:
        thread_id = params.thread_id()
        include_turns = params.flag("includeTurns")
        return Reply({"thread": await self.views.read(thread_id, include_turns=include_turns)})

    async def thread_list(self, params: Params, ctx: RequestContext) -> Reply:
        sort_key, direction = _sort(params)
        query = ListThreadsParams(
            page_size=page_size(params),
            cursor=params.opt_str("cursor"),
            sort_key=sort_key,
            sort_direction=direction,
            allowed_sources=_sources(params),
            model_providers=params.opt_str_list("modelProviders") or None,
            cwd_filters=params.opt_str_list("cwd", allow_single=True),
            archived=params.flag("archived"),
            search_term=params.opt_str("searchTerm") or None,
        )
        page = await self.manager.store.list_threads(query)
        data = [self.views.to_json(stored, include_turns=False) for stored in page.items]
        return Reply({"data": data, "nextCursor": page.next_cursor})

    async def thread_loaded_list(self, params: Params, ctx: RequestContext) -> Reply:
        ids = self.hub.registry.ids()
        cursor = params.opt_str("cursor")
        if cursor is not None:
            ids = [i for i in ids if i > cursor]
        limit = params.opt_int("limit", minimum=1)
        next_cursor = None
        if limit is not None and len(ids) > limit:
            ids = ids[:limit]
            next_cursor = ids[-1]
        return Reply({"data": ids, "nextCursor": next_cursor})

    async def thread_search(self, params: Params, ctx: RequestContext) -> Reply:
        term = params.string("searchTerm").strip()
        if not term:
            raise RpcError.invalid_request("thread/search requires a non-empty searchTerm")
        sort_key, direction = _sort(params)
        query = SearchThreadsParams(
            search_term=term,
            page_size=page_size(params),
            cursor=params.opt_str("cursor"),
            archived=params.flag("archived"),
            sort_key=sort_key,
            sort_direction=direction,
            allowed_sources=_sources(params),
        )
        page = await self.manager.store.search_threads(query)
        data = [
            {"thread": self.views.to_json(hit.thread, include_turns=False), "snippet": hit.snippet}
            for hit in page.items
        ]
        return Reply({"data": data, "nextCursor": page.next_cursor, "backwardsCursor": None})
