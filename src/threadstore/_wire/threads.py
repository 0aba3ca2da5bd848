"""Threads, histories and pages on the wire.

``StoredThread.rollout_path`` is always set on the wire (Codex's app-server requires it): a
backend without files is given the synthetic ``threadstore://<thread id>``, which
:func:`thread_from_proto` turns back into ``None``.
"""

from __future__ import annotations

from typing import Any

from threadstore import _json
from threadstore._contract.listing import StoredThreadSearchResult, ThreadPage, ThreadSearchPage
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


def thread_to_proto(thread: StoredThread) -> pb.StoredThread:
    """The wire form of ``thread``; ``rollout_path`` is always set (synthetic when None)."""
    message = pb.StoredThread(
        thread_id=thread.thread_id,
        preview=thread.preview,
        model_provider=thread.model_provider,
        created_at=seconds(thread.created_at),
        updated_at=seconds(thread.updated_at),
        cwd=thread.cwd,
        cli_version=thread.cli_version,
        source=source_to_proto(thread.source),
        rollout_path=thread.rollout_path or synthetic_rollout_path(thread.thread_id),
        memory_mode=MEMORY_TO_WIRE[thread.memory_mode],
        created_at_micros=micros(thread.created_at),
        updated_at_micros=micros(thread.updated_at),
    )
    for field in (
        "forked_from_id",
        "name",
        "model",
        "agent_nickname",
        "agent_role",
        "agent_path",
        "reasoning_effort",
        "first_user_message",
        "parent_thread_id",
        "thread_source",
    ):
        value = getattr(thread, field)
        if value is not None:
            setattr(message, field, value)
    if thread.history_mode != "legacy":
        message.history_mode = thread.history_mode
    if thread.archived_at is not None:
        message.archived_at = seconds(thread.archived_at)
        message.archived_at_micros = micros(thread.archived_at)
    if thread.git_info is not None:
        git = thread.git_info
        message.git_info.CopyFrom(pb.GitInfo())
        if git.commit_hash is not None:
            message.git_info.sha = git.commit_hash
        if git.branch is not None:
            message.git_info.branch = git.branch
        if git.repository_url is not None:
            message.git_info.origin_url = git.repository_url
    if thread.approval_mode is not None:
        message.approval_mode_json = _json.dumps_str(thread.approval_mode)
    if thread.sandbox_policy is not None:
        message.sandbox_policy_json = _json.dumps_str(thread.sandbox_policy)
    if thread.token_usage is not None:
        message.token_usage_json = _json.dumps_str(thread.token_usage.to_json())
    if thread.history is not None:
        message.history.CopyFrom(history_to_proto(thread.history))
    return message


def _reply_json(message: Any, field: str) -> Any:
    if not message.HasField(field):
        return None
    try:
        return _json.loads(getattr(message, field))
    except ValueError as exc:
        raise InvalidRequest(f"remote thread store returned invalid {field}: {exc}") from None


def thread_from_proto(message: pb.StoredThread) -> StoredThread:
    """Our :class:`StoredThread` of a wire thread (the synthetic rollout path becomes None)."""
    rollout_path = optional_field(message, "rollout_path")
    if rollout_path == synthetic_rollout_path(message.thread_id):
        rollout_path = None
    git_info = None
    if message.HasField("git_info"):
        git_info = GitInfo(
            commit_hash=optional_field(message.git_info, "sha"),
            branch=optional_field(message.git_info, "branch"),
            repository_url=optional_field(message.git_info, "origin_url"),
        )
    approval = _reply_json(message, "approval_mode_json")
    usage_json = _reply_json(message, "token_usage_json")
    archived_at = None
    if message.HasField("archived_at") or message.HasField("archived_at_micros"):
        archived_at = datetime_from_wire(message.archived_at, optional_field(message, "archived_at_micros"))
    return StoredThread(
        thread_id=message.thread_id,
        created_at=datetime_from_wire(message.created_at, optional_field(message, "created_at_micros")),
        updated_at=datetime_from_wire(message.updated_at, optional_field(message, "updated_at_micros")),
        rollout_path=rollout_path,
        forked_from_id=optional_field(message, "forked_from_id"),
        parent_thread_id=optional_field(message, "parent_thread_id"),
        preview=message.preview,
        name=optional_field(message, "name"),
        model_provider=message.model_provider,
        model=optional_field(message, "model"),
        reasoning_effort=optional_field(message, "reasoning_effort"),
        archived_at=archived_at,
        cwd=message.cwd,
        cli_version=message.cli_version,
        source=source_from_proto(message.source),
        thread_source=optional_field(message, "thread_source"),
        agent_nickname=optional_field(message, "agent_nickname"),
        agent_role=optional_field(message, "agent_role"),
        agent_path=optional_field(message, "agent_path"),
        git_info=git_info,
        approval_mode=approval if isinstance(approval, str) else None,
        sandbox_policy=_reply_json(message, "sandbox_policy_json"),
        token_usage=TokenUsage.from_json(usage_json) if usage_json is not None else None,
        first_user_message=optional_field(message, "first_user_message"),
        memory_mode=memory_from_wire(message.memory_mode),
        history_mode="paginated" if optional_field(message, "history_mode") == "paginated" else "legacy",
        history=history_from_proto(message.history) if message.HasField("history") else None,
    )


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
