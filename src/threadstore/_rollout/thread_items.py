"""App-server v2 objects (camelCase JSON) made from rollout records: the items a turn shows
(``userMessage``, ``agentMessage``, ``reasoning``, ``plan``, ``contextCompaction``), turn errors
and the ``Turn`` object itself. Pure functions, shared by the turn builder (:mod:`.turns`) and
the app server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = [
    "agent_message_item",
    "completed_item",
    "error_fails_turn",
    "error_json",
    "opt_int",
    "turn_json",
    "user_message_content",
    "user_message_item",
]

_NON_FAILING_ERRORS: Final = frozenset({"thread_rollback_failed", "other", "active_turn_not_steerable"})


def opt_int(value: object) -> int | None:
    """``value`` when it is an integer (not a boolean), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def turn_json(
    turn_id: str,
    *,
    status: str,
    items: Sequence[Mapping[str, Any]] = (),
    error: Mapping[str, Any] | None = None,
    started_at: int | None = None,
    completed_at: int | None = None,
    duration_ms: int | None = None,
    root_turn_id: str | None = None,
    items_view: str | None = None,
) -> dict[str, Any]:
    """A v2 ``Turn``; ``rootTurnId`` and ``itemsView`` appear only when given (rule 7)."""
    shown: dict[str, Any] = {"id": turn_id}
    if root_turn_id is not None:
        shown["rootTurnId"] = root_turn_id
    shown["items"] = [dict(i) for i in items]
    if items_view is not None:
        shown["itemsView"] = items_view
    shown.update(
        status=status,
        error=dict(error) if error is not None else None,
        startedAt=started_at,
        completedAt=completed_at,
        durationMs=duration_ms,
    )
    return shown


def user_message_content(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The v2 ``UserInput`` list of a legacy ``user_message`` event."""
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


def _user_input_json(entry: object) -> dict[str, Any] | None:
    """One core ``UserInput`` (as an ``item_completed`` user message holds it) in v2 form."""
    if not isinstance(entry, Mapping):
        return None
    kind = entry.get("type")
    if kind == "text" and isinstance(entry.get("text"), str):
        elements = entry.get("text_elements")
        return {
            "type": "text",
            "text": entry["text"],
            "text_elements": list(elements) if isinstance(elements, list) else [],
        }
    if kind == "image" and isinstance(entry.get("image_url"), str):
        return {"type": "image", "url": entry["image_url"]}
    if kind == "local_image" and isinstance(entry.get("path"), str):
        return {"type": "localImage", "path": entry["path"]}
    if kind in ("skill", "mention"):
        return {"type": kind, "name": entry.get("name"), "path": entry.get("path")}
    return None


def user_message_item(item_id: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    """A v2 ``userMessage`` item with the legacy field set."""
    return {"type": "userMessage", "id": item_id, "content": content}


def agent_message_item(item_id: str, text: str, payload: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A v2 ``agentMessage`` item with the legacy field set (``phase`` and ``memoryCitation``
    from an ``agent_message`` event's payload)."""
    payload = payload or {}
    return {
        "type": "agentMessage",
        "id": item_id,
        "text": text,
        "phase": payload.get("phase"),
        "memoryCitation": payload.get("memory_citation"),
    }


def error_json(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The v2 ``TurnError`` of an ``error`` event."""
    message = payload.get("message")
    return {
        "message": message if isinstance(message, str) else "error",
        "codexErrorInfo": payload.get("codex_error_info"),
        "additionalDetails": None,
    }


def error_fails_turn(payload: Mapping[str, Any]) -> bool:
    """Whether an ``error`` event makes its turn ``failed`` (:mod:`.turns`, rule 3)."""
    return payload.get("codex_error_info") not in _NON_FAILING_ERRORS


def completed_item(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """The v2 item an ``item_completed`` event carries (:mod:`.turns`, rules 4 and 7), or None for other kinds."""
    item = payload.get("item")
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
        return None
    kind, item_id = item.get("type"), item["id"]
    timing = {
        "startedAtMs": opt_int(payload.get("started_at_ms")),
        "completedAtMs": opt_int(payload.get("completed_at_ms")),
    }
    if kind == "UserMessage":
        content = item.get("content")
        parts = [p for p in map(_user_input_json, content if isinstance(content, list) else ()) if p is not None]
        return {
            "type": "userMessage",
            "id": item_id,
            "clientId": _opt_str(item.get("client_id")),
            "content": parts,
            **timing,
        }
    if kind == "AgentMessage":
        content = item.get("content")
        texts = [
            part["text"]
            for part in (content if isinstance(content, list) else ())
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        ]
        return {
            **agent_message_item(item_id, "".join(texts), item),
            "moderation": item.get("moderation"),
            "delivery": item.get("delivery"),
            "questions": item.get("questions"),
            **timing,
        }
    if kind == "Reasoning":
        summary, raw = item.get("summary_text"), item.get("raw_content")
        return {
            "type": "reasoning",
            "id": item_id,
            "summary": [s for s in summary if isinstance(s, str)] if isinstance(summary, list) else [],
            "content": [s for s in raw if isinstance(s, str)] if isinstance(raw, list) else [],
        }
    if kind == "Plan":
        return {"type": "plan", "id": item_id, "text": _opt_str(item.get("text")) or ""}
    if kind == "ContextCompaction":
        return {"type": "contextCompaction", "id": item_id}
    return None
