"""Codex-shaped op parsing and event messages: the ops a thread takes (``user_input``,
``interrupt``, ``thread_rollback``, ...) and the event messages it emits, in Codex's shapes.

Every builder returns a fresh plain dict in the exact shape Codex writes, so events can be both
delivered to callers and persisted as ``event_msg`` rollout items.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from threadstore._contract.types import TokenUsage
from threadstore._rollout import items
from threadstore._rollout.items import Item

__all__ = [
    "InvalidOp",
    "UserInput",
    "add_usage",
    "agent_message_msg",
    "error_msg",
    "event_item",
    "parse_user_input",
    "task_complete_msg",
    "task_started_msg",
    "token_count_msg",
    "turn_aborted_msg",
    "user_message_msg",
]


class InvalidOp(ValueError):
    """An op that cannot be carried out as given (reported to the caller as an ``error`` event)."""


@dataclass(frozen=True)
class UserInput:
    """A parsed ``user_input`` op: the model-visible content and the ``user_message`` fields."""

    content: list[dict[str, Any]]
    message: str
    images: list[str]
    local_images: list[str]


def parse_user_input(op: Mapping[str, Any]) -> UserInput:
    """Parse the ``items`` of a ``user_input`` op (``text``, ``image`` and ``local_image``
    items); raises :class:`InvalidOp` for anything else or for empty input."""
    items = op.get("items")
    if not isinstance(items, list) or not items:
        raise InvalidOp("user_input needs a non-empty list of items")
    content: list[dict[str, Any]] = []
    texts: list[str] = []
    images: list[str] = []
    local_images: list[str] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise InvalidOp("each user_input item must be an object")
        kind = item.get("type")
        if kind == "text" and isinstance(item.get("text"), str):
            texts.append(item["text"])
            content.append({"type": "input_text", "text": item["text"]})
        elif kind == "image" and isinstance(item.get("image_url"), str):
            images.append(item["image_url"])
            content.append({"type": "input_image", "image_url": item["image_url"]})
        elif kind == "local_image" and isinstance(item.get("path"), str):
            local_images.append(item["path"])
        else:
            raise InvalidOp(f"unsupported user_input item: {kind!r}")
    if not content and not local_images:
        raise InvalidOp("user_input has nothing to send")
    return UserInput(content, "\n".join(texts), images, local_images)


def event_item(msg: Mapping[str, Any]) -> Item:
    """The ``event_msg`` rollout item carrying ``msg``."""
    return {"type": "event_msg", "payload": dict(msg)}


def error_msg(message: str, info: str = "other") -> dict[str, Any]:
    """``error`` with a Codex ``codex_error_info`` kind."""
    return {"type": "error", "message": message, "codex_error_info": info}


def _payload(item: Item) -> dict[str, Any]:
    payload = item["payload"]
    assert isinstance(payload, dict)
    return payload


def task_started_msg(turn_id: str, model_context_window: int | None) -> dict[str, Any]:
    return _payload(items.task_started(turn_id, started_at=int(time.time()), model_context_window=model_context_window))


def user_message_msg(user: UserInput) -> dict[str, Any]:
    return _payload(items.user_message(user.message, images=user.images, local_images=user.local_images))


def agent_message_msg(text: str) -> dict[str, Any]:
    return _payload(items.agent_message(text))


def token_count_msg(
    total: TokenUsage | None, last: TokenUsage | None, model_context_window: int | None
) -> dict[str, Any]:
    """``token_count``; ``info`` is null when the model reported no usage."""
    if total is None or last is None:
        return _payload(items.token_count(None))
    return _payload(items.token_count(total.to_json(), last.to_json(), model_context_window=model_context_window))


def task_complete_msg(turn_id: str, last_agent_message: str | None, duration_ms: int) -> dict[str, Any]:
    now = int(time.time())
    return _payload(items.task_complete(turn_id, last_agent_message, completed_at=now, duration_ms=duration_ms))


def turn_aborted_msg(turn_id: str, duration_ms: int, reason: str = "interrupted") -> dict[str, Any]:
    return _payload(items.turn_aborted(turn_id, reason, completed_at=int(time.time()), duration_ms=duration_ms))


def add_usage(total: TokenUsage | None, last: TokenUsage) -> TokenUsage:
    """Cumulative usage after one more request."""
    if total is None:
        return last
    return TokenUsage(
        input_tokens=total.input_tokens + last.input_tokens,
        cached_input_tokens=total.cached_input_tokens + last.cached_input_tokens,
        output_tokens=total.output_tokens + last.output_tokens,
        reasoning_output_tokens=total.reasoning_output_tokens + last.reasoning_output_tokens,
        total_tokens=total.total_tokens + last.total_tokens,
    )
