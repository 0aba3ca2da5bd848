"""Converters from the library's shapes to the app-server v2 objects (camelCase JSON).

* :func:`thread_json` - a :class:`~threadstore._contract.types.StoredThread` as a v2 ``Thread``;
* :func:`build_turns` - a thread's rollout items as v2 ``Turn`` objects, for rollouts of every
  era (the turn builder, :mod:`threadstore._rollout.turns`, re-exported here);
* :func:`user_input_items` - v2 ``UserInput`` objects as the items of a ``user_input`` op;
* :func:`token_usage_json` - a ``token_count`` event's ``info`` as a v2 ``tokenUsage``.

Every function is pure: no I/O, no clock, deterministic output for the same input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal

from threadstore._appserver.errors import RpcError
from threadstore._contract.fields import Kind
from threadstore._contract.thread import THREAD_FIELDS
from threadstore._contract.types import GitInfo, SessionSource, StoredThread
from threadstore._rollout.thread_items import (
    agent_message_item,
    error_fails_turn,
    error_json,
    turn_json,
    user_message_content,
    user_message_item,
)
from threadstore._rollout.turns import build_turns

__all__ = [
    "ThreadStatus",
    "agent_message_item",
    "build_turns",
    "error_fails_turn",
    "error_json",
    "git_info_json",
    "source_json",
    "status_json",
    "thread_json",
    "token_usage_json",
    "turn_json",
    "unix_seconds",
    "user_input_items",
    "user_message_content",
    "user_message_item",
]

ThreadStatus = Literal["notLoaded", "idle", "active"]


def unix_seconds(value: datetime) -> int:
    return int(value.timestamp())


def git_info_json(info: GitInfo | None) -> dict[str, str | None] | None:
    if info is None:
        return None
    return {"sha": info.commit_hash, "branch": info.branch, "originUrl": info.repository_url}


def source_json(source: SessionSource) -> Any:
    """A session source in v2 form: ``cli``, ``vscode``, ``exec``, ``appServer`` (core ``mcp``),
    ``unknown``, or an object such as ``{"subAgent": ...}``."""
    if isinstance(source, str):
        return "appServer" if source == "mcp" else source
    if isinstance(source, Mapping) and len(source) == 1:
        key, value = next(iter(source.items()))
        return {"subAgent" if key == "subagent" else key: value}
    return "unknown"


def status_json(status: ThreadStatus) -> dict[str, Any]:
    if status == "active":
        return {"type": "active", "activeFlags": []}
    return {"type": status}


def thread_json(
    stored: StoredThread,
    *,
    status: ThreadStatus = "notLoaded",
    ephemeral: bool = False,
    turns: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The v2 ``Thread`` object (``turns`` is empty unless the caller built them): the fields
    the table gives a v2 key, then the state of the thread in this server."""
    thread = {key: _v2_value(spec.kind, getattr(stored, spec.name)) for key, spec in _V2_FIELDS}
    thread.update(
        ephemeral=ephemeral,
        status=status_json(status),
        path=None if ephemeral else stored.rollout_path,
        turns=[dict(t) for t in turns],
    )
    return thread


_V2_FIELDS: Final = tuple((spec.v2, spec) for spec in THREAD_FIELDS if spec.v2 is not None)


def _v2_value(kind: Kind, value: Any) -> Any:
    if kind is Kind.TIME:
        return unix_seconds(value)
    if kind is Kind.SOURCE:
        return source_json(value)
    if kind is Kind.GIT:
        return git_info_json(value)
    return value


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def token_breakdown_json(usage: object) -> dict[str, int]:
    usage = usage if isinstance(usage, Mapping) else {}

    def get(name: str) -> int:
        return _opt_int(usage.get(name)) or 0

    return {
        "totalTokens": get("total_tokens"),
        "inputTokens": get("input_tokens"),
        "cachedInputTokens": get("cached_input_tokens"),
        "outputTokens": get("output_tokens"),
        "reasoningOutputTokens": get("reasoning_output_tokens"),
    }


def token_usage_json(info: Mapping[str, Any]) -> dict[str, Any]:
    """The v2 ``tokenUsage`` of a ``token_count`` event's ``info``."""
    return {
        "total": token_breakdown_json(info.get("total_token_usage")),
        "last": token_breakdown_json(info.get("last_token_usage")),
        "modelContextWindow": _opt_int(info.get("model_context_window")),
    }


def user_input_items(inputs: object) -> list[dict[str, Any]]:
    """The items of a ``user_input`` op for a v2 ``UserInput`` list (``text``, ``image``,
    ``localImage``); raises an invalid-params :class:`RpcError` for anything else."""
    if not isinstance(inputs, list) or not inputs:
        raise RpcError.invalid_params("Invalid params: `input` must be a non-empty list of UserInput")
    items: list[dict[str, Any]] = []
    for entry in inputs:
        kind = entry.get("type") if isinstance(entry, Mapping) else None
        if kind == "text" and isinstance(entry.get("text"), str):
            items.append({"type": "text", "text": entry["text"]})
        elif kind == "image" and isinstance(entry.get("url"), str):
            items.append({"type": "image", "image_url": entry["url"]})
        elif kind == "localImage" and isinstance(entry.get("path"), str):
            items.append({"type": "local_image", "path": entry["path"]})
        else:
            raise RpcError.invalid_params(f"Invalid params: unsupported UserInput {kind!r}")
    return items
