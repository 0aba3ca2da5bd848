"""Rollout items: plain JSON-compatible dicts in the Codex ``RolloutItem`` shape.

An item is ``{"type": <kind>, "payload": {...}}``. Known kinds are ``session_meta``,
``response_item``, ``event_msg``, ``turn_context`` and ``compacted``; any other kind, and any
field we do not know, is kept and written back unchanged. The helpers below build the common
items; nothing requires using them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal

from threadstore import _json
from threadstore._checks import shown
from threadstore._time import parse_timestamp
from threadstore.errors import InvalidRequest, ResourceExhausted

__all__ = [
    "DEFAULT_MAX_ITEM_BYTES",
    "HistoryMode",
    "Item",
    "MemoryMode",
    "agent_message",
    "assistant_message",
    "base_instructions",
    "compacted",
    "encode_item",
    "event",
    "event_type",
    "history_mode",
    "instructions_text",
    "item_completed",
    "is_event",
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
    "validate_items",
]

HistoryMode = Literal["legacy", "paginated"]
"""A thread's ``session_meta.history_mode``: ``paginated`` (0.169 era: lines carry ordinals,
messages are ``item_completed`` events) or ``legacy``."""

MemoryMode = Literal["enabled", "disabled"]
"""A thread's ``session_meta.memory_mode``."""

Item = dict[str, Any]
"""One rollout item: ``{"type": kind, "payload": {...}}`` plus any extra keys."""

DEFAULT_MAX_ITEM_BYTES: Final = 16 * 1024 * 1024
"""Largest serialized item a store accepts by default (16 MiB)."""

SESSION_META: Final = "session_meta"
RESPONSE_ITEM: Final = "response_item"
EVENT_MSG: Final = "event_msg"
TURN_CONTEXT: Final = "turn_context"
COMPACTED: Final = "compacted"


def event(kind: str, **fields: Any) -> Item:
    """An ``event_msg`` item of the given event type."""
    return {"type": EVENT_MSG, "payload": {"type": kind, **fields}}


def response_item(kind: str, **fields: Any) -> Item:
    """A ``response_item`` item of the given response type."""
    return {"type": RESPONSE_ITEM, "payload": {"type": kind, **fields}}


def user_message(text: str, *, images: Sequence[str] = (), local_images: Sequence[str] = ()) -> Item:
    """The ``user_message`` event that marks a real user turn."""
    return event("user_message", message=text, images=list(images), local_images=list(local_images), text_elements=[])


def agent_message(text: str, *, phase: str | None = None) -> Item:
    """The ``agent_message`` event carrying the assistant's answer."""
    return event("agent_message", message=text, phase=phase, memory_citation=None)


def item_completed(thread_id: str, turn_id: str, item: Mapping[str, Any], *, at_ms: int) -> Item:
    """The ``item_completed`` event that records a finished item in a thread with paginated
    history (the 0.169 era), e.g. ``{"type": "UserMessage", "id", "content": [...]}`` or
    ``{"type": "AgentMessage", "id", "content": [{"type": "Text", "text"}]}``."""
    return event(
        "item_completed",
        thread_id=thread_id,
        turn_id=turn_id,
        item=dict(item),
        started_at_ms=at_ms,
        completed_at_ms=at_ms,
    )


def history_mode(items: Iterable[Mapping[str, Any]], thread_id: str) -> str:
    """The history mode a thread's items say: that of its last own ``session_meta``
    (``"legacy"`` without one)."""
    mode = "legacy"
    for item in items:
        payload = item.get("payload")
        if item.get("type") == SESSION_META and isinstance(payload, Mapping) and payload.get("id") == thread_id:
            value = payload.get("history_mode")
            if value in ("legacy", "paginated"):
                mode = value
    return mode


def user_response_message(text: str) -> Item:
    """The model-visible user ``message`` response item."""
    return response_item("message", role="user", content=[{"type": "input_text", "text": text}])


def assistant_message(text: str, *, phase: str | None = None) -> Item:
    """The model-visible assistant ``message`` response item."""
    payload: dict[str, Any] = {"role": "assistant", "content": [{"type": "output_text", "text": text}]}
    if phase is not None:
        payload["phase"] = phase
    return response_item("message", **payload)


def task_started(turn_id: str, *, started_at: int | None = None, model_context_window: int | None = None) -> Item:
    """``task_started`` (Codex ``TurnStarted``)."""
    return event(
        "task_started",
        turn_id=turn_id,
        started_at=started_at,
        model_context_window=model_context_window,
        collaboration_mode_kind="default",
    )


def task_complete(
    turn_id: str,
    last_agent_message: str | None,
    *,
    completed_at: int | None = None,
    duration_ms: int | None = None,
) -> Item:
    """``task_complete`` (Codex ``TurnComplete``)."""
    return event(
        "task_complete",
        turn_id=turn_id,
        last_agent_message=last_agent_message,
        completed_at=completed_at,
        duration_ms=duration_ms,
    )


def turn_aborted(
    turn_id: str | None,
    reason: str = "interrupted",
    *,
    completed_at: int | None = None,
    duration_ms: int | None = None,
) -> Item:
    """``turn_aborted``: the boundary an interrupt writes."""
    return event("turn_aborted", turn_id=turn_id, reason=reason, completed_at=completed_at, duration_ms=duration_ms)


def thread_rolled_back(num_turns: int) -> Item:
    """The append-only rollback marker: readers drop the last ``num_turns`` user turns."""
    return event("thread_rolled_back", num_turns=num_turns)


def thread_name_updated(thread_id: str, name: str | None) -> Item:
    """The event a rename appends to the rollout."""
    return event("thread_name_updated", thread_id=thread_id, thread_name=name)


def token_count(
    total: Mapping[str, int] | None, last: Mapping[str, int] | None = None, *, model_context_window: int | None = None
) -> Item:
    """``token_count`` with cumulative (``total``) and per-request (``last``) usage."""
    info = None
    if total is not None:
        info = {
            "total_token_usage": dict(total),
            "last_token_usage": dict(last if last is not None else total),
            "model_context_window": model_context_window,
        }
    return event("token_count", info=info, rate_limits=None)


def turn_context(
    *,
    cwd: str,
    model: str,
    turn_id: str | None = None,
    approval_policy: str = "never",
    effort: str | None = None,
    **extra: Any,
) -> Item:
    """A ``turn_context`` settings snapshot."""
    payload: dict[str, Any] = {
        "turn_id": turn_id,
        "cwd": cwd,
        "approval_policy": approval_policy,
        "sandbox_policy": {"type": "read-only"},
        "model": model,
        "summary": "auto",
        **extra,
    }
    if effort is not None:
        payload["effort"] = effort
    return {"type": TURN_CONTEXT, "payload": payload}


def compacted(message: str, replacement_history: Sequence[Mapping[str, Any]] | None = None) -> Item:
    """A ``compacted`` item (summary, and optionally the full replacement model history)."""
    payload: dict[str, Any] = {"message": message}
    if replacement_history is not None:
        payload["replacement_history"] = [dict(i) for i in replacement_history]
    return {"type": COMPACTED, "payload": payload}


def session_meta(thread_id: str, *, timestamp: str, cwd: str, **fields: Any) -> Item:
    """A ``session_meta`` item (fields flattened as in Codex, plus an optional ``git`` object)."""
    return {"type": SESSION_META, "payload": {"id": thread_id, "timestamp": timestamp, "cwd": cwd, **fields}}


def instructions_text(value: object) -> str | None:
    """The text of a ``base_instructions`` value (``{"text": ...}``, or a bare string in old files)."""
    if isinstance(value, Mapping) and isinstance(value.get("text"), str):
        return str(value["text"])
    return value if isinstance(value, str) else None


def base_instructions(history: Sequence[Mapping[str, Any]], thread_id: str | None = None) -> str | None:
    """The base instructions a thread's ``session_meta`` records: that of ``thread_id``, or of
    the first ``session_meta`` when no id is given (fork copies carry their parent's too)."""
    for item in history:
        payload = item.get("payload")
        if (
            item.get("type") == "session_meta"
            and isinstance(payload, Mapping)
            and (thread_id is None or payload.get("id") == thread_id)
        ):
            return instructions_text(payload.get("base_instructions"))
    return None


def is_event(item: Mapping[str, Any], kind: str) -> bool:
    """True when ``item`` is an ``event_msg`` whose event type is ``kind``."""
    if item.get("type") != EVENT_MSG:
        return False
    payload = item.get("payload")
    return isinstance(payload, dict) and payload.get("type") == kind


def event_type(item: Mapping[str, Any]) -> str | None:
    """The inner event type of an ``event_msg`` item, else None."""
    if item.get("type") != EVENT_MSG:
        return None
    payload = item.get("payload")
    if isinstance(payload, dict):
        kind = payload.get("type")
        if isinstance(kind, str):
            return kind
    return None


def validate_items(items: Iterable[object]) -> list[Item]:
    """Check that every element is an item (a dict with a string ``type``, a valid RFC 3339
    ``timestamp`` and a non-negative integer ``ordinal`` when it carries them); return them as
    a list.

    Raises :class:`InvalidRequest` naming the first bad element. Nothing is copied: the caller's
    dicts are returned as they are.
    """
    checked: list[Item] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidRequest(f"item {index} is not an object: {type(item).__name__}")
        kind = item.get("type")
        if not isinstance(kind, str) or not kind:
            raise InvalidRequest(f"item {index} has no string 'type'")
        if "timestamp" in item and parse_timestamp(item["timestamp"]) is None:
            raise InvalidRequest(f"item {index} has an invalid timestamp: {shown(item['timestamp'])}")
        if "ordinal" in item and not _is_ordinal(item["ordinal"]):
            raise InvalidRequest(f"item {index} has an invalid ordinal: {shown(item['ordinal'])}")
        checked.append(item)
    return checked


def _is_ordinal(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def encode_item(item: Mapping[str, Any], max_bytes: int = DEFAULT_MAX_ITEM_BYTES) -> bytes:
    """Serialize one item to JSON bytes, enforcing the size limit.

    Raises :class:`InvalidRequest` when the item is not JSON-compatible and
    :class:`ResourceExhausted` when it is larger than ``max_bytes``.
    """
    try:
        data = _json.dumps(item)
    except ValueError as exc:
        raise InvalidRequest(f"item is not JSON-serializable: {str(exc)[:200]}") from None
    if len(data) > max_bytes:
        raise ResourceExhausted(f"item of {len(data)} bytes exceeds the limit of {max_bytes} bytes")
    return data
