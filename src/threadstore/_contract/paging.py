"""Paginated history: the parameter and result types of ``list_turns`` and ``list_items``.

A thread's history can be read a page at a time, as *turns* (what Codex's ``thread/turns/list``
shows) or as *items* (the app-server ``ThreadItem`` objects those turns show, what
``thread/items/list`` shows), without loading the whole history. The types follow Codex's
``ListTurnsParams`` / ``TurnPage`` / ``ListItemsParams`` / ``ItemPage`` with snake_case names.

Cursors are opaque strings. A page's ``next_cursor`` continues after its last entry in the same
direction (None when there is nothing more); its ``backwards_cursor`` (None for an empty page),
passed with the opposite ``sort_direction``, returns the page's first entry again followed by
what lies before it, so a reader can catch updates of that entry. A cursor names its anchor
(turn position and id, or item ordinal and key) and stays valid while the thread grows: a page
after a cursor never repeats or skips an entry because items were appended meanwhile. A cursor
whose anchor a rollback removed is refused (``InvalidRequest``), as is a malformed one.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeGuard

from threadstore import _json
from threadstore._checks import check_text
from threadstore._contract.types import MAX_PAGE_SIZE, SortDirection
from threadstore._ids import validate_thread_id
from threadstore._rollout.turn_values import StoredTurn, StoredTurnError, TurnItemsView, TurnStatus
from threadstore.errors import InvalidRequest

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "ItemAnchor",
    "ItemPage",
    "ListItemsParams",
    "ListTurnsParams",
    "StoredThreadItem",
    "StoredTurn",
    "StoredTurnError",
    "TurnAnchor",
    "TurnItemsView",
    "TurnPage",
    "TurnStatus",
    "encode_item_cursor",
    "encode_turn_cursor",
]

DEFAULT_PAGE_SIZE = 50

_VIEWS = ("not_loaded", "summary", "full")


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def _check_common(params: Any) -> None:
    _set(params, "thread_id", validate_thread_id(params.thread_id))
    size = params.page_size
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"page_size must be an integer between 1 and {MAX_PAGE_SIZE}, got {size!r}")
    if params.sort_direction not in ("asc", "desc"):
        raise InvalidRequest(f"unknown sort direction: {params.sort_direction!r}")
    if not isinstance(params.include_archived, bool):
        raise InvalidRequest("include_archived must be a boolean")


# -- cursors -------------------------------------------------------------------------------------


class TurnAnchor(NamedTuple):
    """Where a turn cursor points: the turn's position in the thread and its id."""

    seq: int
    turn_id: str
    include: bool


class ItemAnchor(NamedTuple):
    """Where an item cursor points: the item's ordinal in the thread and its key."""

    ordinal: int
    key: str
    include: bool


def _encode(fields: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(_json.dumps(fields)).decode("ascii").rstrip("=")


def _decode(cursor: object, kind: str) -> dict[str, Any]:
    text = check_text(cursor, "cursor")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = _json.loads(raw)
    except (ValueError, binascii.Error):
        value = None
    if not isinstance(value, dict) or value.get("k") != kind:
        shown = text if len(text) <= 80 else f"{text[:80]}..."
        raise InvalidRequest(f"invalid cursor: {shown}")
    return value


def _natural(value: object) -> TypeGuard[int]:
    """A position a store can hold (a signed 64-bit integer, as databases and the wire keep it)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def encode_turn_cursor(seq: int, turn_id: str, *, include: bool) -> str:
    return _encode({"k": "turn", "s": seq, "id": turn_id, "a": include})


def encode_item_cursor(ordinal: int, key: str, *, include: bool) -> str:
    return _encode({"k": "item", "o": ordinal, "id": key, "a": include})


def _turn_anchor(cursor: str) -> TurnAnchor:
    value = _decode(cursor, "turn")
    seq, turn_id, include = value.get("s"), value.get("id"), value.get("a")
    if not _natural(seq) or not isinstance(turn_id, str) or not isinstance(include, bool):
        raise InvalidRequest(f"invalid cursor: {cursor}")
    return TurnAnchor(seq, turn_id, include)


def _item_anchor(cursor: str) -> ItemAnchor:
    value = _decode(cursor, "item")
    ordinal, key, include = value.get("o"), value.get("id"), value.get("a")
    if not _natural(ordinal) or not isinstance(key, str) or not isinstance(include, bool):
        raise InvalidRequest(f"invalid cursor: {cursor}")
    return ItemAnchor(ordinal, key, include)


# -- parameters ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListTurnsParams:
    """One page of a thread's turns (newest first by default, as Codex's app server).

    Raises ``InvalidRequest`` on construction for a malformed id or cursor, a page size outside
    1..1000, or an unknown direction or items view."""

    thread_id: str
    include_archived: bool = False
    cursor: str | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    sort_direction: SortDirection = "desc"
    items_view: TurnItemsView = "summary"
    anchor: TurnAnchor | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_common(self)
        if self.items_view not in _VIEWS:
            raise InvalidRequest(f"unknown items view: {self.items_view!r}")
        _set(self, "anchor", None if self.cursor is None else _turn_anchor(self.cursor))


@dataclass(frozen=True, slots=True)
class ListItemsParams:
    """One page of the items a thread's turns show (oldest first by default), optionally those
    of one turn only (``turn_id``; an id no turn has gives ``InvalidRequest``)."""

    thread_id: str
    turn_id: str | None = None
    include_archived: bool = False
    cursor: str | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    sort_direction: SortDirection = "asc"
    anchor: ItemAnchor | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_common(self)
        if self.turn_id is not None and (not isinstance(self.turn_id, str) or not self.turn_id):
            raise InvalidRequest("turn_id must be a non-empty string")
        if self.turn_id is not None:
            check_text(self.turn_id, "turn_id")
        _set(self, "anchor", None if self.cursor is None else _item_anchor(self.cursor))


# -- results -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TurnPage:
    turns: list[StoredTurn] = field(default_factory=list)
    next_cursor: str | None = None
    backwards_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class StoredThreadItem:
    """One item a turn shows: the v2 ``ThreadItem`` (``item``), its turn, its key (the item's
    id) and its ordinal among all the items of the thread (0-based, in history order).
    ``item_created_at_ms`` is when the record that made it was written, when the store knows."""

    turn_id: str
    item_key: str
    item_ordinal: int
    item: dict[str, Any]
    item_created_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ItemPage:
    items: list[StoredThreadItem] = field(default_factory=list)
    next_cursor: str | None = None
    backwards_cursor: str | None = None
