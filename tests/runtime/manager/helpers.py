"""What the manager's tests read back: the kinds of one turn's lines, a thread's history, its user
texts, and the texts a model request carried."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from threadstore import ThreadStore, items
from threadstore._contract.types import ReadThreadParams
from threadstore._runtime import ModelRequest

__all__ = ["TURN_KINDS", "history_of", "request_texts", "user_texts"]

TURN_KINDS = [
    "event_msg:task_started",
    "turn_context",
    "response_item:message:user",
    "event_msg:user_message",
    "event_msg:agent_message",
    "response_item:message:assistant",
    "event_msg:token_count",
    "event_msg:task_complete",
]


async def history_of(store: ThreadStore, thread_id: str) -> list[dict[str, Any]]:
    thread = await store.read_thread(ReadThreadParams(thread_id, include_archived=True, include_history=True))
    assert thread.history is not None
    return thread.history.items


def user_texts(history: Sequence[dict[str, Any]]) -> list[str]:
    return [i["payload"]["message"] for i in history if items.is_event(i, "user_message")]


def request_texts(request: ModelRequest) -> list[str]:
    return [part["text"] for p in request.input for part in p.get("content", []) if "text" in part]
