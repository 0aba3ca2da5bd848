"""Turns rebuilt from a thread's rollout items, for rollouts of every Codex era.

:func:`build_turns` gives the turns Codex's own ``thread/read`` (with ``includeTurns``) gives for
the same rollout, as app-server v2 ``Turn`` objects (camelCase dicts). The app server answers
with them, and they are the runtime's one view of a thread as turns. The rules, found by
comparing the rollouts Codex 0.125 and 0.169 wrote with what those builds answered:

1. **Rollback first.** ``thread_rolled_back`` markers remove the turns they roll back
   (:func:`~threadstore.runtime.history.apply_rollback_markers`); the markers are not shown.
2. **Only events make turns.** Response items, ``turn_context``, ``session_meta`` and line kinds
   that carry settings or accounting (``world_state``, ``token_usage_record``, events such as
   ``thread_settings_applied`` or ``token_count``) never open a turn nor add an item.
3. **Explicit turns.** ``task_started`` (alias ``turn_started``) opens a turn: its id is the
   event's ``turn_id``, ``startedAt`` its ``started_at``. ``task_complete`` (alias
   ``turn_complete``) ends it ``completed`` (``failed`` when an ``error`` of a failing kind came
   first; ``thread_rollback_failed``, ``other`` and ``active_turn_not_steerable`` do not fail a
   turn), ``turn_aborted`` ends it ``interrupted``; both give ``completedAt`` and
   ``durationMs``. A ``task_started`` while a turn is open ends that one ``interrupted``.
4. **Items come in two forms.** Legacy mirror events (the 0.125 era): ``user_message``,
   ``agent_message``, ``agent_reasoning`` / ``agent_reasoning_raw_content`` (consecutive ones
   merge into one reasoning item) and ``context_compacted``. And ``item_completed`` events
   carrying the item itself (the 0.169 era, paginated history): ``UserMessage``,
   ``AgentMessage``, ``Reasoning``, ``Plan`` and ``ContextCompaction``; item kinds not listed
   are not shown (history turns are lossy in Codex too).
5. **``item_completed`` is authoritative.** In a turn where items of a kind arrive as
   ``item_completed``, legacy events of that kind are mirrors and are not shown again.
6. **Ids.** An ``item_completed`` item keeps its own id. A legacy item gets ``item-N``, numbered
   in history order over the whole thread among the items shown.
7. **Each item reports what its record holds.** An item from ``item_completed`` carries the
   fields of that era (``clientId``, ``startedAtMs`` / ``completedAtMs`` from the event's
   ``started_at_ms`` / ``completed_at_ms``, and for agent messages ``moderation``,
   ``delivery``, ``questions``); a legacy item carries the older field set. Likewise a turn
   whose ``task_started`` carries a ``root_turn_id`` (turn attribution, same era) reports
   ``rootTurnId`` and ``itemsView: "full"``. In a thread with paginated history (its
   ``session_meta`` says so) every turn reports both, and a finished turn's ``rootTurnId`` and
   ``startedAt`` are those of its ``task_complete`` (null when it has none), as Codex 0.169
   reads them.
8. **Implicit turns.** Events outside any explicit turn (histories written without turn events)
   go to an implicit turn ``turn-N``; a user message in an implicit turn that already has one
   starts the next implicit turn.
9. **The end of the history.** A turn still open at the end is ``inProgress`` when it is the
   turn a loaded thread is running now (``active_turn_id``) and ``interrupted`` otherwise
   (nothing will ever finish it); an implicit turn without a user message is ``completed``.

Every function is pure: no I/O, no clock, the same output for the same input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ..items import Item, event_type
from .history import apply_rollback_markers

__all__ = [
    "agent_message_item",
    "build_turns",
    "error_fails_turn",
    "error_json",
    "turn_json",
    "user_message_content",
    "user_message_item",
]

_NON_FAILING_ERRORS: Final = frozenset({"thread_rollback_failed", "other", "active_turn_not_steerable"})
_TURN_STARTED: Final = frozenset({"task_started", "turn_started"})
_TURN_COMPLETED: Final = frozenset({"task_complete", "turn_complete"})
_LEGACY_REASONING: Final = {"agent_reasoning": "summary", "agent_reasoning_raw_content": "content"}


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


# -- v2 objects -------------------------------------------------------------------------------------


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
    attributed: bool = False,
) -> dict[str, Any]:
    """A v2 ``Turn``; ``rootTurnId`` and ``itemsView`` appear only when given, or for
    ``attributed`` turns (those of paginated threads) always (rule 7)."""
    shown: dict[str, Any] = {"id": turn_id}
    if root_turn_id is not None or attributed:
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
    """Whether an ``error`` event makes its turn ``failed`` (rule 3)."""
    return payload.get("codex_error_info") not in _NON_FAILING_ERRORS


def _completed_item(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """The v2 item an ``item_completed`` event carries (rule 4, 7), or None for other kinds."""
    item = payload.get("item")
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
        return None
    kind, item_id = item.get("type"), item["id"]
    timing = {
        "startedAtMs": _opt_int(payload.get("started_at_ms")),
        "completedAtMs": _opt_int(payload.get("completed_at_ms")),
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


# -- the builder ------------------------------------------------------------------------------------


@dataclass
class _Entry:
    item: dict[str, Any]
    legacy: bool


@dataclass
class _Turn:
    turn_id: str
    explicit: bool
    root_turn_id: str | None = None
    started_at: int | None = None
    entries: list[_Entry] = field(default_factory=list)
    #: Item kinds that arrived as ``item_completed`` (their legacy mirrors are not shown).
    recorded_kinds: set[str] = field(default_factory=set)
    status: str = "inProgress"
    error: dict[str, Any] | None = None
    completed_at: int | None = None
    duration_ms: int | None = None

    def has_user_message(self) -> bool:
        return any(entry.item["type"] == "userMessage" for entry in self.entries)

    def finish(self, status: str, payload: Mapping[str, Any], *, paginated: bool) -> None:
        self.status = "failed" if status == "completed" and self.error is not None else status
        self.completed_at = _opt_int(payload.get("completed_at"))
        self.duration_ms = _opt_int(payload.get("duration_ms"))
        if paginated:
            self.root_turn_id = _opt_str(payload.get("root_turn_id"))
            self.started_at = _opt_int(payload.get("started_at"))


class _Builder:
    def __init__(self, *, paginated: bool = False) -> None:
        self.paginated = paginated
        self.turns: list[dict[str, Any]] = []
        self.current: _Turn | None = None
        self._legacy_ids = 0
        self._implicit = 0

    def close(self, status: str | None = None) -> None:
        turn = self.current
        if turn is None:
            return
        self.current = None
        if status is not None and turn.status == "inProgress":
            turn.status = status
        shown: list[dict[str, Any]] = []
        for entry in turn.entries:
            if entry.legacy:
                if entry.item["type"] in turn.recorded_kinds:
                    continue
                self._legacy_ids += 1
                entry.item["id"] = f"item-{self._legacy_ids}"
            shown.append(entry.item)
        self.turns.append(
            turn_json(
                turn.turn_id,
                status=turn.status,
                items=shown,
                error=turn.error,
                started_at=turn.started_at,
                completed_at=turn.completed_at,
                duration_ms=turn.duration_ms,
                root_turn_id=turn.root_turn_id,
                items_view="full" if turn.root_turn_id is not None or self.paginated else None,
                attributed=self.paginated,
            )
        )

    def ensure(self) -> _Turn:
        if self.current is None:
            self._implicit += 1
            self.current = _Turn(f"turn-{self._implicit}", explicit=False)
        return self.current

    def add(self, item: dict[str, Any], *, legacy: bool) -> None:
        turn = self.current
        if item["type"] == "userMessage" and turn is not None and not turn.explicit and turn.has_user_message():
            self.close("completed")
        turn = self.ensure()
        if not legacy:
            turn.recorded_kinds.add(item["type"])
        turn.entries.append(_Entry(item, legacy))

    def handle(self, payload: Mapping[str, Any]) -> None:
        kind = payload.get("type")
        if kind in _TURN_STARTED:
            self.close("interrupted")
            turn_id = payload.get("turn_id")
            if isinstance(turn_id, str):
                root = payload.get("root_turn_id")
                self.current = _Turn(
                    turn_id,
                    explicit=True,
                    root_turn_id=(root if isinstance(root, str) else turn_id) if "root_turn_id" in payload else None,
                    started_at=_opt_int(payload.get("started_at")),
                )
            else:
                self.ensure()
        elif kind in _TURN_COMPLETED or kind == "turn_aborted":
            if self.current is not None:
                status = "interrupted" if kind == "turn_aborted" else "completed"
                self.current.finish(status, payload, paginated=self.paginated)
                self.close()
        elif kind == "item_completed":
            item = _completed_item(payload)
            if item is not None:
                self.add(item, legacy=False)
        elif kind == "user_message":
            self.add(user_message_item("", user_message_content(payload)), legacy=True)
        elif kind == "agent_message":
            text = payload.get("message")
            self.add(agent_message_item("", text if isinstance(text, str) else "", payload), legacy=True)
        elif kind in _LEGACY_REASONING:
            self._reasoning(_LEGACY_REASONING[kind], payload.get("text"))
        elif kind == "context_compacted":
            self.add({"type": "contextCompaction", "id": ""}, legacy=True)
        elif kind == "error" and self.current is not None and error_fails_turn(payload):
            self.current.error = error_json(payload)

    def _reasoning(self, key: str, text: object) -> None:
        if not isinstance(text, str):
            return
        turn = self.current
        last = turn.entries[-1] if turn is not None and turn.entries else None
        if last is None or not last.legacy or last.item["type"] != "reasoning":
            self.add({"type": "reasoning", "id": "", "summary": [], "content": []}, legacy=True)
            last = self.ensure().entries[-1]
        last.item[key].append(text)

    def finish(self, active_turn_id: str | None) -> list[dict[str, Any]]:
        current = self.current
        if current is not None:
            if current.explicit and current.turn_id == active_turn_id:
                self.close()
            elif not current.explicit and not current.has_user_message():
                self.close("completed")
            else:
                self.close("interrupted")
        return self.turns


def build_turns(items: Sequence[Item], *, active_turn_id: str | None = None) -> list[dict[str, Any]]:
    """The v2 turns of a thread's rollout items (see the module documentation for the rules)."""
    builder = _Builder(paginated=_paginated(items))
    for item in apply_rollback_markers(items):
        if event_type(item) is not None:
            builder.handle(item["payload"])
    return builder.finish(active_turn_id)


def _paginated(items: Sequence[Item]) -> bool:
    """Whether the history's first ``session_meta`` says it is paginated."""
    for item in items:
        if item.get("type") == "session_meta":
            payload = item.get("payload")
            return isinstance(payload, Mapping) and payload.get("history_mode") == "paginated"
    return False
