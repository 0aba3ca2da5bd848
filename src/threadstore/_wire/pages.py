"""Paginated history on the wire: ``ListTurns`` and ``ListItems`` requests and replies.

Turns and items travel with typed fields; each v2 ``ThreadItem`` as one JSON document. An
integer the wire cannot carry (a turn time beyond ``int64``, from a hostile rollout) travels as
absent.
"""

from __future__ import annotations

from typing import Final

from threadstore import _json
from threadstore._contract.paging import (
    ItemPage,
    ListItemsParams,
    ListTurnsParams,
    StoredThreadItem,
    StoredTurn,
    StoredTurnError,
    TurnItemsView,
    TurnPage,
    TurnStatus,
)
from threadstore._wire._proto import thread_store_pb2 as pb
from threadstore._wire.scalars import (
    direction_from_wire,
    direction_to_wire,
    items_from_wire,
    items_to_wire,
    optional_field,
    page_size_from_wire,
    parse_json,
)
from threadstore.errors import InvalidRequest

__all__ = [
    "item_page_from_proto",
    "item_page_to_proto",
    "list_items_from_proto",
    "list_items_to_proto",
    "list_turns_from_proto",
    "list_turns_to_proto",
    "turn_page_from_proto",
    "turn_page_to_proto",
]

_INT64: Final = range(-(2**63), 2**63)
_VIEWS: Final[dict[str, pb.TurnItemsView]] = {
    "summary": pb.TURN_ITEMS_VIEW_SUMMARY,
    "not_loaded": pb.TURN_ITEMS_VIEW_NOT_LOADED,
    "full": pb.TURN_ITEMS_VIEW_FULL,
}
_STATUSES: Final[dict[str, pb.TurnStatus]] = {
    "completed": pb.TURN_STATUS_COMPLETED,
    "interrupted": pb.TURN_STATUS_INTERRUPTED,
    "failed": pb.TURN_STATUS_FAILED,
    "in_progress": pb.TURN_STATUS_IN_PROGRESS,
}


def _view_from_wire(value: int) -> TurnItemsView:
    for name, wire in _VIEWS.items():
        if wire == value:
            return name  # type: ignore[return-value]
    raise InvalidRequest(f"unknown items view: {value}")


def _status_from_wire(value: int) -> TurnStatus:
    for name, wire in _STATUSES.items():
        if wire == value:
            return name  # type: ignore[return-value]
    raise InvalidRequest(f"unknown turn status: {value}")


def _int64(value: int | None) -> int | None:
    return value if value is not None and value in _INT64 else None


# -- requests ------------------------------------------------------------------------------------


def list_turns_to_proto(params: ListTurnsParams) -> pb.ListTurnsRequest:
    message = pb.ListTurnsRequest(
        thread_id=params.thread_id,
        include_archived=params.include_archived,
        page_size=params.page_size,
        sort_direction=direction_to_wire(params.sort_direction),
        items_view=_VIEWS[params.items_view],
    )
    if params.cursor is not None:
        message.cursor = params.cursor
    return message


def list_turns_from_proto(message: pb.ListTurnsRequest) -> ListTurnsParams:
    return ListTurnsParams(
        thread_id=message.thread_id,
        include_archived=message.include_archived,
        cursor=optional_field(message, "cursor"),
        page_size=page_size_from_wire(message.page_size),
        sort_direction=direction_from_wire(message.sort_direction),
        items_view=_view_from_wire(message.items_view),
    )


def list_items_to_proto(params: ListItemsParams) -> pb.ListItemsRequest:
    message = pb.ListItemsRequest(
        thread_id=params.thread_id,
        include_archived=params.include_archived,
        page_size=params.page_size,
        sort_direction=direction_to_wire(params.sort_direction),
    )
    if params.turn_id is not None:
        message.turn_id = params.turn_id
    if params.cursor is not None:
        message.cursor = params.cursor
    return message


def list_items_from_proto(message: pb.ListItemsRequest) -> ListItemsParams:
    return ListItemsParams(
        thread_id=message.thread_id,
        turn_id=optional_field(message, "turn_id"),
        include_archived=message.include_archived,
        cursor=optional_field(message, "cursor"),
        page_size=page_size_from_wire(message.page_size),
        sort_direction=direction_from_wire(message.sort_direction),
    )


# -- replies -------------------------------------------------------------------------------------


def _turn_to_proto(turn: StoredTurn) -> pb.StoredTurn:
    message = pb.StoredTurn(
        turn_id=turn.turn_id,
        items_json=items_to_wire(turn.items, "turn items"),
        items_view=_VIEWS[turn.items_view],
        status=_STATUSES[turn.status],
    )
    if turn.error is not None:
        error = pb.StoredTurnError(message=turn.error.message)
        if turn.error.codex_error_info is not None:
            error.codex_error_info_json = _json.dumps_str(turn.error.codex_error_info)
        if turn.error.additional_details is not None:
            error.additional_details = turn.error.additional_details
        message.error.CopyFrom(error)
    for name in ("started_at", "completed_at", "duration_ms"):
        value = _int64(getattr(turn, name))
        if value is not None:
            setattr(message, name, value)
    if turn.root_turn_id is not None:
        message.root_turn_id = turn.root_turn_id
    return message


def _turn_from_proto(message: pb.StoredTurn) -> StoredTurn:
    error = None
    if message.HasField("error"):
        info = optional_field(message.error, "codex_error_info_json")
        error = StoredTurnError(
            message=message.error.message,
            codex_error_info=parse_json(info, "codex_error_info_json") if info is not None else None,
            additional_details=optional_field(message.error, "additional_details"),
        )
    return StoredTurn(
        turn_id=message.turn_id,
        items=items_from_wire(message.items_json, "items_json"),
        items_view=_view_from_wire(message.items_view),
        status=_status_from_wire(message.status),
        error=error,
        started_at=optional_field(message, "started_at"),
        completed_at=optional_field(message, "completed_at"),
        duration_ms=optional_field(message, "duration_ms"),
        root_turn_id=optional_field(message, "root_turn_id"),
    )


def _cursors(message: pb.ListTurnsResponse | pb.ListItemsResponse, page: TurnPage | ItemPage) -> None:
    if page.next_cursor is not None:
        message.next_cursor = page.next_cursor
    if page.backwards_cursor is not None:
        message.backwards_cursor = page.backwards_cursor


def turn_page_to_proto(page: TurnPage) -> pb.ListTurnsResponse:
    message = pb.ListTurnsResponse(turns=[_turn_to_proto(t) for t in page.turns])
    _cursors(message, page)
    return message


def turn_page_from_proto(message: pb.ListTurnsResponse) -> TurnPage:
    return TurnPage(
        turns=[_turn_from_proto(t) for t in message.turns],
        next_cursor=optional_field(message, "next_cursor"),
        backwards_cursor=optional_field(message, "backwards_cursor"),
    )


def item_page_to_proto(page: ItemPage) -> pb.ListItemsResponse:
    items = []
    for item in page.items:
        entry = pb.StoredThreadItem(
            turn_id=item.turn_id,
            item_key=item.item_key,
            item_ordinal=item.item_ordinal,
            item_json=items_to_wire([item.item], "item")[0],
        )
        created = _int64(item.item_created_at_ms)
        if created is not None:
            entry.item_created_at_ms = created
        items.append(entry)
    message = pb.ListItemsResponse(items=items)
    _cursors(message, page)
    return message


def item_page_from_proto(message: pb.ListItemsResponse) -> ItemPage:
    return ItemPage(
        items=[
            StoredThreadItem(
                turn_id=entry.turn_id,
                item_key=entry.item_key,
                item_ordinal=entry.item_ordinal,
                item=items_from_wire([entry.item_json], "item_json")[0],
                item_created_at_ms=optional_field(entry, "item_created_at_ms"),
            )
            for entry in message.items
        ],
        next_cursor=optional_field(message, "next_cursor"),
        backwards_cursor=optional_field(message, "backwards_cursor"),
    )
