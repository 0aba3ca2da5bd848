"""JSON form of :class:`StoredThread`: the field names of the dataclass, timestamps as RFC 3339
strings, ``git_info`` and ``token_usage`` as objects, ``history`` as the list of items.

Used by the command line (``--json``), the app server and the local index; it round-trips.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from threadstore._contract.types import GitInfo, MemoryMode, StoredThread, StoredThreadHistory, TokenUsage
from threadstore._time import format_rfc3339, parse_timestamp
from threadstore.errors import InvalidRequest

__all__ = ["thread_from_json", "thread_to_json"]


def thread_to_json(thread: StoredThread) -> dict[str, Any]:
    """The JSON object of a thread (history included when the thread carries it)."""
    return {
        "thread_id": thread.thread_id,
        "rollout_path": thread.rollout_path,
        "forked_from_id": thread.forked_from_id,
        "parent_thread_id": thread.parent_thread_id,
        "preview": thread.preview,
        "name": thread.name,
        "model_provider": thread.model_provider,
        "model": thread.model,
        "reasoning_effort": thread.reasoning_effort,
        "created_at": format_rfc3339(thread.created_at),
        "updated_at": format_rfc3339(thread.updated_at),
        "archived_at": format_rfc3339(thread.archived_at) if thread.archived_at else None,
        "cwd": thread.cwd,
        "cli_version": thread.cli_version,
        "source": thread.source,
        "thread_source": thread.thread_source,
        "agent_nickname": thread.agent_nickname,
        "agent_role": thread.agent_role,
        "agent_path": thread.agent_path,
        "git_info": thread.git_info.to_json() if thread.git_info else None,
        "approval_mode": thread.approval_mode,
        "sandbox_policy": thread.sandbox_policy,
        "token_usage": thread.token_usage.to_json() if thread.token_usage else None,
        "first_user_message": thread.first_user_message,
        "memory_mode": thread.memory_mode,
        "history_mode": thread.history_mode,
        "history": thread.history.items if thread.history is not None else None,
    }


def _time(value: object, name: str) -> Any:
    parsed = parse_timestamp(value)
    if parsed is None:
        raise InvalidRequest(f"thread JSON has an invalid {name}: {value!r}")
    return parsed


def thread_from_json(data: Mapping[str, Any]) -> StoredThread:
    """Rebuild a thread from :func:`thread_to_json` output."""
    history = data.get("history")
    archived = data.get("archived_at")
    memory_mode: MemoryMode = "disabled" if data.get("memory_mode") == "disabled" else "enabled"
    return StoredThread(
        thread_id=data["thread_id"],
        created_at=_time(data.get("created_at"), "created_at"),
        updated_at=_time(data.get("updated_at"), "updated_at"),
        rollout_path=data.get("rollout_path"),
        forked_from_id=data.get("forked_from_id"),
        parent_thread_id=data.get("parent_thread_id"),
        preview=data.get("preview") or "",
        name=data.get("name"),
        model_provider=data.get("model_provider") or "",
        model=data.get("model"),
        reasoning_effort=data.get("reasoning_effort"),
        archived_at=_time(archived, "archived_at") if archived else None,
        cwd=data.get("cwd") or "",
        cli_version=data.get("cli_version") or "",
        source=data.get("source") or "unknown",
        thread_source=data.get("thread_source"),
        agent_nickname=data.get("agent_nickname"),
        agent_role=data.get("agent_role"),
        agent_path=data.get("agent_path"),
        git_info=GitInfo.from_json(data.get("git_info")),
        approval_mode=data.get("approval_mode"),
        sandbox_policy=data.get("sandbox_policy"),
        token_usage=TokenUsage.from_json(data.get("token_usage")),
        first_user_message=data.get("first_user_message"),
        memory_mode=memory_mode,
        history_mode="paginated" if data.get("history_mode") == "paginated" else "legacy",
        history=StoredThreadHistory(data["thread_id"], list(history)) if isinstance(history, list) else None,
    )
