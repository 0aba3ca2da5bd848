"""Threads, histories and pages on the wire.

``StoredThread.rollout_path`` is always set on the wire (Codex's app-server requires it): a
backend without files is given the synthetic ``threadstore://<thread id>``, which
:func:`thread_from_proto` turns back into ``None``.
"""

from __future__ import annotations

from typing import Any, Final

from threadstore import _json
from threadstore._contract.fields import FieldSpec, Kind
from threadstore._contract.listing import StoredThreadSearchResult, ThreadPage, ThreadSearchPage
from threadstore._contract.thread import THREAD_FIELDS
from threadstore._contract.types import GitInfo, StoredThread, StoredThreadHistory, TokenUsage
from threadstore._wire._proto import thread_store_pb2 as pb
from threadstore._wire.scalars import (
    MEMORY_TO_WIRE,
    datetime_from_wire,
    items_from_wire,
    items_to_wire,
    memory_from_wire,
    micros,
    optional_field,
    seconds,
    synthetic_rollout_path,
)
from threadstore._wire.sources import source_from_proto, source_to_proto
from threadstore.errors import InvalidRequest

_ON_WIRE: Final = tuple(spec for spec in THREAD_FIELDS if spec.wire is not None)

def history_to_proto(history: StoredThreadHistory) -> pb.StoredThreadHistory:
    message = pb.StoredThreadHistory(thread_id=history.thread_id, items_json=items_to_wire(history.items, "items"))
    if history.timestamps is not None:
        message.has_timestamps = True
        message.timestamps.extend(stamp or "" for stamp in history.timestamps)
    return message


def history_from_proto(message: pb.StoredThreadHistory) -> StoredThreadHistory:
    items = items_from_wire(message.items_json, "items_json")
    stamps: list[str | None] | None = None
    if message.has_timestamps:
        if len(message.timestamps) != len(items):
            raise InvalidRequest("history timestamps do not match its items")
        stamps = [stamp or None for stamp in message.timestamps]
    return StoredThreadHistory(thread_id=message.thread_id, items=items, timestamps=stamps)


def _git_to_proto(git: GitInfo) -> pb.GitInfo:
    message = pb.GitInfo()
    if git.commit_hash is not None:
        message.sha = git.commit_hash
    if git.branch is not None:
        message.branch = git.branch
    if git.repository_url is not None:
        message.origin_url = git.repository_url
    return message


def _put(message: pb.StoredThread, spec: FieldSpec, value: Any) -> None:
    """Set one field of the wire thread (absent values stay unset)."""
    kind, name = spec.kind, spec.wire_name
    if kind in (Kind.TIME, Kind.OPT_TIME):
        if value is not None:
            setattr(message, name, seconds(value))
            setattr(message, f"{name}_micros", micros(value))
    elif kind is Kind.SOURCE:
        message.source.CopyFrom(source_to_proto(value))
    elif kind is Kind.GIT:
        if value is not None:
            message.git_info.CopyFrom(_git_to_proto(value))
    elif kind is Kind.USAGE:
        if value is not None:
            setattr(message, name, _json.dumps_str(value.to_json()))
    elif kind in (Kind.JSON, Kind.JSON_TEXT):
        if value is not None:
            setattr(message, name, _json.dumps_str(value))
    elif kind is Kind.MEMORY:
        message.memory_mode = MEMORY_TO_WIRE[value]
    elif kind is Kind.HISTORY_MODE:
        if value != "legacy":
            message.history_mode = value
    elif kind is Kind.HISTORY:
        if value is not None:
            message.history.CopyFrom(history_to_proto(value))
    elif kind is Kind.LABELS:
        message.labels.update(value)
    elif value is not None:
        setattr(message, name, value)


def thread_to_proto(thread: StoredThread) -> pb.StoredThread:
    """The wire form of ``thread``; ``rollout_path`` is always set (synthetic when None)."""
    message = pb.StoredThread()
    for spec in _ON_WIRE:
        _put(message, spec, getattr(thread, spec.name))
    if thread.rollout_path is None:
        message.rollout_path = synthetic_rollout_path(thread.thread_id)
    return message


def _reply_json(message: Any, field: str) -> Any:
    if not message.HasField(field):
        return None
    try:
        return _json.loads(getattr(message, field))
    except ValueError as exc:
        raise InvalidRequest(f"remote thread store returned invalid {field}: {exc}") from None


def _get(message: pb.StoredThread, spec: FieldSpec) -> Any:
    """One field of a wire thread as the store's value."""
    kind, name = spec.kind, spec.wire_name
    if kind in (Kind.TIME, Kind.OPT_TIME):
        if kind is Kind.OPT_TIME and not (message.HasField(name) or message.HasField(f"{name}_micros")):
            return None
        return datetime_from_wire(getattr(message, name), optional_field(message, f"{name}_micros"))
    if kind is Kind.SOURCE:
        return source_from_proto(message.source)
    if kind is Kind.GIT:
        if not message.HasField("git_info"):
            return None
        git = message.git_info
        return GitInfo(
            commit_hash=optional_field(git, "sha"),
            branch=optional_field(git, "branch"),
            repository_url=optional_field(git, "origin_url"),
        )
    if kind is Kind.USAGE:
        usage = _reply_json(message, name)
        return TokenUsage.from_json(usage) if usage is not None else None
    if kind is Kind.JSON:
        return _reply_json(message, name)
    if kind is Kind.JSON_TEXT:
        value = _reply_json(message, name)
        return value if isinstance(value, str) else None
    if kind is Kind.MEMORY:
        return memory_from_wire(message.memory_mode)
    if kind is Kind.HISTORY_MODE:
        return "paginated" if optional_field(message, name) == "paginated" else "legacy"
    if kind is Kind.HISTORY:
        return history_from_proto(message.history) if message.HasField("history") else None
    if kind is Kind.LABELS:
        return dict(message.labels)
    if kind in (Kind.OPT_TEXT, Kind.OPT_ID):
        return optional_field(message, name)
    return getattr(message, name)


def thread_from_proto(message: pb.StoredThread) -> StoredThread:
    """Our :class:`StoredThread` of a wire thread (the synthetic rollout path becomes None)."""
    fields = {spec.name: _get(message, spec) for spec in _ON_WIRE}
    if fields["rollout_path"] == synthetic_rollout_path(message.thread_id):
        fields["rollout_path"] = None
    return StoredThread(**fields)


def page_to_proto(page: ThreadPage) -> pb.ListThreadsResponse:
    message = pb.ListThreadsResponse(threads=[thread_to_proto(t) for t in page.items])
    if page.next_cursor is not None:
        message.next_cursor = page.next_cursor
    return message


def page_from_proto(message: pb.ListThreadsResponse) -> ThreadPage:
    return ThreadPage(
        items=[thread_from_proto(t) for t in message.threads], next_cursor=optional_field(message, "next_cursor")
    )


def search_page_to_proto(page: ThreadSearchPage) -> pb.SearchThreadsResponse:
    message = pb.SearchThreadsResponse(
        results=[pb.ThreadSearchResult(thread=thread_to_proto(r.thread), snippet=r.snippet) for r in page.items]
    )
    if page.next_cursor is not None:
        message.next_cursor = page.next_cursor
    return message


def search_page_from_proto(message: pb.SearchThreadsResponse) -> ThreadSearchPage:
    return ThreadSearchPage(
        items=[StoredThreadSearchResult(thread_from_proto(r.thread), r.snippet) for r in message.results],
        next_cursor=optional_field(message, "next_cursor"),
    )
