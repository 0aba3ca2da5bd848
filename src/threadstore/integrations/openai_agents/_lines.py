"""How an Agents SDK session's items become rollout lines, and back.

Each item ``add_items`` receives is stored as it was given, as the payload of one
``response_item`` line: the Agents SDK's items *are* Responses API input items, the shape Codex
records for the model's history. A message gets a second line after it, the event Codex writes
for people beside each message (``user_message`` for a real user message, ``agent_message`` for
an assistant message), so that listings, turns and transcripts (ours and Codex's) show the
conversation. Reading back takes the ``response_item`` payloads only, as history edits left them
(:mod:`threadstore._rollout.edits`), so ``get_items`` returns exactly what ``add_items`` got.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from threadstore import _json
from threadstore._rollout.edits import HISTORY_CLEARED, ITEMS_POPPED
from threadstore._rollout.items import Item, agent_message, user_message
from threadstore._rollout.messages import is_message, message_text
from threadstore._rollout.rollback import is_user_message, kept_positions
from threadstore.errors import InvalidRequest

__all__ = ["as_lines", "visible_items"]

_MARKERS: Final = frozenset({"thread_rolled_back", ITEMS_POPPED, HISTORY_CLEARED})


def _images(payload: Mapping[str, Any]) -> list[str]:
    content = payload.get("content")
    if not isinstance(content, list):
        return []
    return [
        part["image_url"]
        for part in content
        if isinstance(part, Mapping) and part.get("type") == "input_image" and isinstance(part.get("image_url"), str)
    ]


def _mirror(payload: Mapping[str, Any]) -> Item | None:
    """The event Codex writes beside a message for people, or None for other items."""
    if not is_message(payload):
        return None
    role = payload.get("role")
    if role == "user" and is_user_message(payload):
        return user_message(message_text(payload), images=_images(payload))
    if role == "assistant":
        text = message_text(payload)
        return agent_message(text) if text else None
    return None


def as_lines(items: Sequence[Any]) -> list[Item]:
    """The rollout lines that store ``items`` (each a JSON object; a copy is stored, so later
    changes to the caller's objects change nothing). ``InvalidRequest`` for an item that is not
    a JSON object."""
    lines: list[Item] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise InvalidRequest(f"a session item must be a JSON object, got {type(item).__name__}")
        try:
            payload = _json.loads(_json.dumps(item))
        except (TypeError, ValueError) as exc:
            raise InvalidRequest(f"a session item is not JSON: {exc}") from None
        lines.append({"type": "response_item", "payload": payload})
        mirror = _mirror(payload)
        if mirror is not None:
            lines.append(mirror)
    return lines


def _marker(line: Item) -> bool:
    if line.get("type") != "event_msg":
        return False
    payload = line.get("payload")
    return isinstance(payload, dict) and payload.get("type") in _MARKERS


def visible_items(lines: Sequence[Item]) -> list[dict[str, Any]]:
    """The session items a whole history holds: the ``response_item`` payloads that rollback
    and history edits leave, in order (a history without markers is read in one cheap pass)."""
    if not any(_marker(line) for line in lines):
        return [
            line["payload"]
            for line in lines
            if line.get("type") == "response_item" and isinstance(line.get("payload"), dict)
        ]
    out: list[dict[str, Any]] = []
    for position in kept_positions(lines):
        line = lines[position]
        payload = line.get("payload")
        if line.get("type") == "response_item" and isinstance(payload, dict):
            out.append(payload)
    return out
