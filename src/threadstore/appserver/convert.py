"""Converters from the library's shapes to the app-server v2 objects (camelCase JSON).

* :func:`thread_json` - a :class:`~threadstore.store.types.StoredThread` as a v2 ``Thread``;
* :func:`build_turns` - a thread's rollout items as v2 ``Turn`` objects, the way Codex's
  thread-history builder does it: turns are delimited by ``task_started`` and
  ``task_complete`` / ``turn_aborted`` events, their items come from the persisted
  ``user_message`` / ``agent_message`` / ``agent_reasoning`` events, and rollback markers are
  applied first. Turns rebuilt from history are lossy by nature (not every event is persisted);
* :func:`user_input_items` - v2 ``UserInput`` objects as the items of a ``user_input`` op;
* :func:`token_usage_json` - a ``token_count`` event's ``info`` as a v2 ``tokenUsage``.

Every function is pure: no I/O, no clock, deterministic output for the same input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from ..items import Item, event_type
from ..runtime.history import apply_rollback_markers
from ..store.types import GitInfo, SessionSource, StoredThread
from .errors import RpcError

__all__ = [
    "ThreadStatus",
    "build_turns",
    "git_info_json",
    "source_json",
    "status_json",
    "thread_json",
    "token_usage_json",
    "turn_json",
    "unix_seconds",
    "user_input_items",
]

ThreadStatus = Literal["notLoaded", "idle", "active"]

_NON_FAILING_ERRORS: Final = frozenset({"thread_rollback_failed", "other", "active_turn_not_steerable"})


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
    """The v2 ``Thread`` object (``turns`` is empty unless the caller built them)."""
    return {
        "id": stored.thread_id,
        "forkedFromId": stored.forked_from_id,
        "preview": stored.preview,
        "ephemeral": ephemeral,
        "modelProvider": stored.model_provider,
        "createdAt": unix_seconds(stored.created_at),
        "updatedAt": unix_seconds(stored.updated_at),
        "status": status_json(status),
        "path": None if ephemeral else stored.rollout_path,
        "cwd": stored.cwd,
        "cliVersion": stored.cli_version,
        "source": source_json(stored.source),
        "agentNickname": stored.agent_nickname,
        "agentRole": stored.agent_role,
        "gitInfo": git_info_json(stored.git_info),
        "name": stored.name,
        "turns": [dict(t) for t in turns],
    }


def turn_json(
    turn_id: str,
    *,
    status: str,
    items: Sequence[Mapping[str, Any]] = (),
    error: Mapping[str, Any] | None = None,
    started_at: int | None = None,
    completed_at: int | None = None,
    duration_ms: int | None = None,
) -> dict[str, Any]:
    """A v2 ``Turn`` object."""
    return {
        "id": turn_id,
        "items": [dict(i) for i in items],
        "status": status,
        "error": dict(error) if error is not None else None,
        "startedAt": started_at,
        "completedAt": completed_at,
        "durationMs": duration_ms,
    }


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def user_message_content(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The v2 ``UserInput`` list of a ``user_message`` event."""
    content: list[dict[str, Any]] = []
    message = payload.get("message")
    if isinstance(message, str) and message.strip():
        elements = payload.get("text_elements")
        content.append(
            {"type": "text", "text": message, "text_elements": list(elements) if isinstance(elements, list) else []}
        )
    images = payload.get("images")
    for url in images if isinstance(images, list) else ():
        if isinstance(url, str):
            content.append({"type": "image", "url": url})
    local = payload.get("local_images")
    for path in local if isinstance(local, list) else ():
        if isinstance(path, str):
            content.append({"type": "localImage", "path": path})
    return content


def agent_message_item(item_id: str, text: str, payload: Mapping[str, Any] | None = None) -> dict[str, Any]:
    payload = payload or {}
    return {
        "type": "agentMessage",
        "id": item_id,
        "text": text,
        "phase": payload.get("phase"),
        "memoryCitation": payload.get("memory_citation"),
    }


def error_json(payload: Mapping[str, Any]) -> dict[str, Any]:
    message = payload.get("message")
    return {
        "message": message if isinstance(message, str) else "error",
        "codexErrorInfo": payload.get("codex_error_info"),
        "additionalDetails": None,
    }


def error_fails_turn(payload: Mapping[str, Any]) -> bool:
    """Whether an ``error`` event makes its turn ``failed`` (Codex exempts a few kinds)."""
    return payload.get("codex_error_info") not in _NON_FAILING_ERRORS


@dataclass
class _TurnBuilder:
    turn_id: str
    explicit: bool
    started_at: int | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    status: str = "inProgress"
    error: dict[str, Any] | None = None
    completed_at: int | None = None
    duration_ms: int | None = None

    def has_user_message(self) -> bool:
        return any(item.get("type") == "userMessage" for item in self.items)

    def finish(self, status: str, payload: Mapping[str, Any]) -> None:
        self.status = "failed" if status == "completed" and self.error is not None else status
        self.completed_at = _opt_int(payload.get("completed_at"))
        self.duration_ms = _opt_int(payload.get("duration_ms"))

    def to_json(self) -> dict[str, Any]:
        return turn_json(
            self.turn_id,
            status=self.status,
            items=self.items,
            error=self.error,
            started_at=self.started_at,
            completed_at=self.completed_at,
            duration_ms=self.duration_ms,
        )


class _HistoryBuilder:
    def __init__(self) -> None:
        self.turns: list[_TurnBuilder] = []
        self.current: _TurnBuilder | None = None
        self._items = 0
        self._implicit = 0

    def next_item_id(self) -> str:
        self._items += 1
        return f"item-{self._items}"

    def close(self, status: str | None = None) -> None:
        turn = self.current
        if turn is None:
            return
        if status is not None and turn.status == "inProgress":
            turn.status = status
        self.turns.append(turn)
        self.current = None

    def open(self, turn_id: str | None, started_at: int | None) -> _TurnBuilder:
        if turn_id is None:
            self._implicit += 1
            turn = _TurnBuilder(f"turn-{self._implicit}", explicit=False)
        else:
            turn = _TurnBuilder(turn_id, explicit=True, started_at=started_at)
        self.current = turn
        return turn

    def ensure(self) -> _TurnBuilder:
        return self.current if self.current is not None else self.open(None, None)

    def handle(self, payload: Mapping[str, Any]) -> None:
        kind = payload.get("type")
        if kind in ("task_started", "turn_started"):
            # An unfinished turn followed by a new one was cut short.
            self.close("interrupted")
            turn_id = payload.get("turn_id")
            self.open(turn_id if isinstance(turn_id, str) else None, _opt_int(payload.get("started_at")))
        elif kind == "user_message":
            turn = self.current
            if turn is not None and not turn.explicit and turn.has_user_message():
                self.close("completed")
            self.ensure().items.append(
                {"type": "userMessage", "id": self.next_item_id(), "content": user_message_content(payload)}
            )
        elif kind == "agent_message":
            text = payload.get("message")
            self.ensure().items.append(
                agent_message_item(self.next_item_id(), text if isinstance(text, str) else "", payload)
            )
        elif kind in ("agent_reasoning", "agent_reasoning_raw_content"):
            text = payload.get("text")
            if isinstance(text, str):
                key = "summary" if kind == "agent_reasoning" else "content"
                turn = self.ensure()
                last = turn.items[-1] if turn.items else None
                if last is None or last.get("type") != "reasoning":
                    last = {"type": "reasoning", "id": self.next_item_id(), "summary": [], "content": []}
                    turn.items.append(last)
                last[key].append(text)
        elif kind == "context_compacted":
            self.ensure().items.append({"type": "contextCompaction", "id": self.next_item_id()})
        elif kind == "error":
            turn = self.current
            if turn is not None and error_fails_turn(payload):
                turn.error = error_json(payload)
        elif kind in ("task_complete", "turn_complete", "turn_aborted") and self.current is not None:
            self.current.finish("interrupted" if kind == "turn_aborted" else "completed", payload)
            self.close()


def build_turns(items: Sequence[Item], *, active_turn_id: str | None = None) -> list[dict[str, Any]]:
    """The v2 turns of a thread's rollout items.

    Rollback markers are applied first. A turn still open at the end of the history is
    ``inProgress`` when it is ``active_turn_id`` (the turn a loaded thread is running now) and
    ``interrupted`` otherwise (nothing will ever finish it). Item ids are ``item-1``,
    ``item-2``... in history order; a turn without a ``task_started`` gets the id ``turn-N``."""
    builder = _HistoryBuilder()
    for item in apply_rollback_markers(items):
        if event_type(item) is not None:
            builder.handle(item["payload"])
    current = builder.current
    if current is not None:
        if current.explicit and current.turn_id == active_turn_id:
            builder.close()
        elif not current.explicit and not current.has_user_message():
            builder.close("completed")
        else:
            builder.close("interrupted")
    return [turn.to_json() for turn in builder.turns]


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
