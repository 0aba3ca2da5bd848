"""Scalar conventions of the wire: timestamps, enums, page sizes, JSON fields and items.

* Items travel as one JSON document per item (``items_json``, ``history_json``).
* Timestamps are Unix **seconds** (``int64``) in the seed fields, which loses sub-second
  precision; threadstore peers also fill the ``*micros`` extension fields and prefer them.
* Malformed JSON in a request raises :class:`~threadstore.errors.InvalidRequest` naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from threadstore import _json
from threadstore._contract.types import (
    MAX_PAGE_SIZE,
    MemoryMode,
    SortDirection,
    ThreadSortKey,
)
from threadstore._rollout.items import Item
from threadstore._rollout.policy import EventPersistenceMode
from threadstore._wire._proto import thread_store_pb2 as pb
from threadstore.errors import InvalidRequest

SYNTHETIC_PATH_PREFIX: Final = "threadstore://"
DEFAULT_PAGE_SIZE: Final = 50

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MODE_TO_WIRE: Final[dict[str, pb.ThreadEventPersistenceMode]] = {
    "limited": pb.THREAD_EVENT_PERSISTENCE_MODE_LIMITED,
    "extended": pb.THREAD_EVENT_PERSISTENCE_MODE_EXTENDED,
}
MEMORY_TO_WIRE: Final[dict[str, pb.ThreadMemoryMode]] = {
    "enabled": pb.THREAD_MEMORY_MODE_ENABLED,
    "disabled": pb.THREAD_MEMORY_MODE_DISABLED,
}


# -- scalars ------------------------------------------------------------------------------------


def synthetic_rollout_path(thread_id: str) -> str:
    """The stable stand-in ``rollout_path`` for a thread whose backend has no files."""
    return f"{SYNTHETIC_PATH_PREFIX}{thread_id}"


def micros(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


def seconds(value: datetime) -> int:
    return (value - EPOCH) // timedelta(seconds=1)


def datetime_from_wire(whole_seconds: int, whole_micros: int | None) -> datetime:
    """A UTC datetime from the seed field (seconds) or, when present, the micros extension.
    A value no datetime can hold is ``InvalidRequest``."""
    try:
        if whole_micros is not None:
            return EPOCH + timedelta(microseconds=whole_micros)
        return EPOCH + timedelta(seconds=whole_seconds)
    except OverflowError:
        raise InvalidRequest(
            f"timestamp out of range: {whole_seconds if whole_micros is None else whole_micros}"
        ) from None


def mode_from_wire(value: int) -> EventPersistenceMode:
    if value == pb.THREAD_EVENT_PERSISTENCE_MODE_EXTENDED:
        return "extended"
    if value == pb.THREAD_EVENT_PERSISTENCE_MODE_LIMITED:
        return "limited"
    raise InvalidRequest(f"unknown event persistence mode: {value}")


def memory_from_wire(value: int) -> MemoryMode:
    if value == pb.THREAD_MEMORY_MODE_DISABLED:
        return "disabled"
    if value == pb.THREAD_MEMORY_MODE_ENABLED:
        return "enabled"
    raise InvalidRequest(f"unknown memory mode: {value}")


def sort_key_to_wire(key: ThreadSortKey) -> pb.ThreadSortKey:
    return pb.THREAD_SORT_KEY_UPDATED_AT if key == "updated_at" else pb.THREAD_SORT_KEY_CREATED_AT


def sort_key_from_wire(value: int) -> ThreadSortKey:
    if value == pb.THREAD_SORT_KEY_UPDATED_AT:
        return "updated_at"
    if value == pb.THREAD_SORT_KEY_CREATED_AT:
        return "created_at"
    raise InvalidRequest(f"unknown sort key: {value}")


def direction_to_wire(direction: SortDirection) -> pb.SortDirection:
    return pb.SORT_DIRECTION_ASC if direction == "asc" else pb.SORT_DIRECTION_DESC


def direction_from_wire(value: int) -> SortDirection:
    if value == pb.SORT_DIRECTION_ASC:
        return "asc"
    if value == pb.SORT_DIRECTION_DESC:
        return "desc"
    raise InvalidRequest(f"unknown sort direction: {value}")


def page_size_from_wire(value: int) -> int:
    """0 (unset) means the default; larger than the maximum is clamped."""
    if value == 0:
        return DEFAULT_PAGE_SIZE
    return min(value, MAX_PAGE_SIZE)


def parse_json(text: str, field: str) -> Any:
    try:
        return _json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"invalid JSON in {field}: {exc}") from None


def items_to_wire(items: Sequence[Item], field: str) -> list[str]:
    try:
        return [_json.dumps_str(item) for item in items]
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"failed to serialize {field} for remote thread store: {exc}") from None


def items_from_wire(texts: Sequence[str], field: str) -> list[Item]:
    items: list[Item] = []
    for index, text in enumerate(texts):
        value = parse_json(text, f"{field}[{index}]")
        if not isinstance(value, dict):
            raise InvalidRequest(f"{field}[{index}] is not a JSON object")
        items.append(value)
    return items


def optional_field(message: Any, field: str) -> Any:
    return getattr(message, field) if message.HasField(field) else None
