"""Paginated history: ``thread/turns/list`` and ``thread/items/list`` (and the older
``thread/turns/items/list``), answered from the store's ``list_turns`` / ``list_items`` without
loading the whole history.

* ``thread/turns/list`` ``{threadId, cursor?, limit?, sortDirection? ("desc"), itemsView?
  ("summary" | "notLoaded" | "full"; default "summary")}`` → ``{data: Turn[], nextCursor,
  backwardsCursor}``. Each ``Turn`` carries its ``itemsView``; the turn a loaded thread is
  running is ``inProgress``, another turn nothing ended is ``interrupted``.
* ``thread/items/list`` ``{threadId, turnId?, cursor?, limit?, sortDirection? ("asc")}`` →
  ``{data: [{turnId, item}], nextCursor, backwardsCursor}``.
* ``thread/turns/items/list`` ``{threadId, turnId, cursor?, limit?, sortDirection?}`` →
  ``{data: ThreadItem[], nextCursor, backwardsCursor}`` (the earlier form, one turn's items).

Archived threads are read too (as ``thread/read`` reads them). A loaded thread's buffered items
are flushed first; a loaded thread with nothing stored (ephemeral, or not yet written) has an
empty history. Errors: an unknown thread, a malformed or stale cursor, or a ``turnId`` the
thread has no turn of are ``-32600``; malformed parameters ``-32602``.
"""

from __future__ import annotations

from typing import Any, Final

from threadstore._appserver.context import Reply, RequestContext
from threadstore._appserver.group import MethodGroup
from threadstore._appserver.params import Params
from threadstore._appserver.read_methods import page_size
from threadstore._contract.paging import ItemPage, ListItemsParams, ListTurnsParams, TurnItemsView, TurnPage
from threadstore._contract.types import SortDirection
from threadstore._rollout.turns import turn_to_json
from threadstore.errors import ThreadNotFound

__all__ = ["HistoryMethods"]

_VIEWS: Final[dict[str, TurnItemsView]] = {"notLoaded": "not_loaded", "summary": "summary", "full": "full"}


def _direction(params: Params, default: str) -> SortDirection:
    return "asc" if params.choice("sortDirection", ("asc", "desc"), default) == "asc" else "desc"


class HistoryMethods(MethodGroup):
    async def thread_turns_list(self, params: Params, ctx: RequestContext) -> Reply:
        thread_id = params.thread_id()
        query = ListTurnsParams(
            thread_id,
            include_archived=True,
            cursor=params.opt_str("cursor"),
            page_size=page_size(params),
            sort_direction=_direction(params, "desc"),
            items_view=_VIEWS[params.choice("itemsView", tuple(_VIEWS), "summary")],
        )
        loaded = await self.views.flush_loaded(thread_id)
        try:
            page = await self.manager.store.list_turns(query)
        except ThreadNotFound:
            if loaded is None:
                raise
            page = TurnPage()
        active = self.views.active_turn_id(thread_id)
        data = [turn_to_json(turn, active_turn_id=active, always_view=True) for turn in page.turns]
        return Reply({"data": data, "nextCursor": page.next_cursor, "backwardsCursor": page.backwards_cursor})

    async def _items(self, params: Params, turn_id: str | None) -> ItemPage:
        thread_id = params.thread_id()
        query = ListItemsParams(
            thread_id,
            turn_id=turn_id,
            include_archived=True,
            cursor=params.opt_str("cursor"),
            page_size=page_size(params),
            sort_direction=_direction(params, "asc"),
        )
        loaded = await self.views.flush_loaded(thread_id)
        try:
            return await self.manager.store.list_items(query)
        except ThreadNotFound:
            if loaded is None:
                raise
            return ItemPage()

    async def thread_items_list(self, params: Params, ctx: RequestContext) -> Reply:
        page = await self._items(params, params.opt_str("turnId"))
        data: list[dict[str, Any]] = [{"turnId": item.turn_id, "item": item.item} for item in page.items]
        return Reply({"data": data, "nextCursor": page.next_cursor, "backwardsCursor": page.backwards_cursor})

    async def thread_turns_items_list(self, params: Params, ctx: RequestContext) -> Reply:
        page = await self._items(params, params.string("turnId"))
        data = [item.item for item in page.items]
        return Reply({"data": data, "nextCursor": page.next_cursor, "backwardsCursor": page.backwards_cursor})
