"""Rollout items: plain JSON-compatible dicts in the Codex ``RolloutItem`` shape, and helpers that
build the common ones.

An item is ``{"type": <kind>, "payload": {...}}``. Known kinds are ``session_meta``,
``response_item``, ``event_msg``, ``turn_context`` and ``compacted``; any other kind, and any
field we do not know, is kept and written back unchanged. Nothing requires using the helpers.
"""

from __future__ import annotations

from threadstore._rollout.items import (
    Item,
    agent_message,
    assistant_message,
    compacted,
    event,
    event_type,
    is_event,
    item_completed,
    response_item,
    session_meta,
    task_complete,
    task_started,
    thread_name_updated,
    thread_rolled_back,
    token_count,
    turn_aborted,
    turn_context,
    user_message,
    user_response_message,
)

__all__ = [
    "Item",
    "agent_message",
    "assistant_message",
    "compacted",
    "event",
    "event_type",
    "is_event",
    "item_completed",
    "response_item",
    "session_meta",
    "task_complete",
    "task_started",
    "thread_name_updated",
    "thread_rolled_back",
    "token_count",
    "turn_aborted",
    "turn_context",
    "user_message",
    "user_response_message",
]
