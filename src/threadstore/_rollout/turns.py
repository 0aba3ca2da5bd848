"""Turns rebuilt from a thread's rollout items, for rollouts of every Codex era.

:func:`build_turns` gives the turns Codex's own ``thread/read`` (with ``includeTurns``) gives for
the same rollout, as app-server v2 ``Turn`` objects (camelCase dicts). The app server answers
with them, they are the runtime's one view of a thread as turns, and the stores serve them a
page at a time (:mod:`.turn_index`, :mod:`.history_pages`) as :class:`~.turn_values.StoredTurn`
objects (:func:`build_stored_turns`). The rules, found by comparing the rollouts Codex 0.125 and
0.169 wrote with what those builds answered:

1. **Rollback first.** ``thread_rolled_back`` markers remove the turns they roll back
   (:func:`~.rollback.apply_rollback_markers`); the markers are not shown.
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
   ``rootTurnId`` and ``itemsView: "full"``; when its ``task_complete`` carries one too, the
   turn's ``rootTurnId`` and ``startedAt`` are those of the ``task_complete`` (null when it
   lacks them), as Codex 0.169 reads a finished turn.
8. **Implicit turns.** Events outside any explicit turn (histories written without turn events)
   go to an implicit turn ``turn-N``; a user message in an implicit turn that already has one
   starts the next implicit turn.
9. **The end of the history.** A turn still open at the end is ``inProgress`` when it is the
   turn a loaded thread is running now (``active_turn_id``) and ``interrupted`` otherwise
   (nothing will ever finish it); an implicit turn without a user message is ``completed``.
   A store, which cannot know what runs, reports such an open turn ``in_progress``
   (:func:`turn_to_json` applies the rule).

Every function is pure: no I/O, no clock, the same output for the same input. :class:`TurnBuilder`
is the builder itself, fed one record at a time (the stores' turn index drives it too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from threadstore._rollout.items import Item, event_type
from threadstore._rollout.rollback import kept_positions
from threadstore._rollout.thread_items import (
    agent_message_item,
    completed_item,
    error_fails_turn,
    opt_int,
    turn_json,
    user_message_content,
    user_message_item,
)
from threadstore._rollout.turn_values import StoredTurn, StoredTurnError, TurnItemsView, TurnStatus
from threadstore._time import parse_timestamp, to_ms

__all__ = [
    "BuiltTurn",
    "TurnBuilder",
    "build_stored_turns",
    "build_turns",
    "turn_to_json",
    "view_items",
]

_TURN_STARTED: Final = frozenset({"task_started", "turn_started"})
_TURN_COMPLETED: Final = frozenset({"task_complete", "turn_complete"})
_LEGACY_REASONING: Final = {"agent_reasoning": "summary", "agent_reasoning_raw_content": "content"}
_V2_STATUS: Final[Mapping[str, str]] = {
    "completed": "completed",
    "interrupted": "interrupted",
    "failed": "failed",
    "in_progress": "inProgress",
}
_V2_VIEW: Final[Mapping[str, str]] = {"not_loaded": "notLoaded", "summary": "summary", "full": "full"}


def _created_ms(timestamp: str | None) -> int | None:
    when = parse_timestamp(timestamp) if timestamp else None
    return to_ms(when) if when is not None else None


class BuiltTurn(NamedTuple):
    """A turn the builder closed (all its items), with the time each item's record was written
    (when known)."""

    turn: StoredTurn
    created_ms: list[int | None]


@dataclass
class _Entry:
    item: dict[str, Any]
    legacy: bool
    created_ms: int | None


@dataclass
class _Turn:
    turn_id: str
    explicit: bool
    root_turn_id: str | None = None
    started_at: int | None = None
    entries: list[_Entry] = field(default_factory=list)
    #: Item kinds that arrived as ``item_completed`` (their legacy mirrors are not shown).
    recorded_kinds: set[str] = field(default_factory=set)
    status: TurnStatus = "in_progress"
    error: StoredTurnError | None = None
    completed_at: int | None = None
    duration_ms: int | None = None

    def has_user_message(self) -> bool:
        return any(entry.item["type"] == "userMessage" for entry in self.entries)

    def shown(self, entry: _Entry) -> bool:
        return not (entry.legacy and entry.item["type"] in self.recorded_kinds)

    def shown_count(self) -> int:
        """How many items the turn shows if it ends now."""
        return sum(1 for entry in self.entries if self.shown(entry))

    def legacy_count(self) -> int:
        """How many legacy ids (``item-N``) the turn uses if it ends now."""
        return sum(1 for entry in self.entries if entry.legacy and self.shown(entry))

    def finish(self, status: TurnStatus, payload: Mapping[str, Any]) -> None:
        self.status = "failed" if status == "completed" and self.error is not None else status
        self.completed_at = opt_int(payload.get("completed_at"))
        self.duration_ms = opt_int(payload.get("duration_ms"))
        if "root_turn_id" in payload:  # the 0.169 era: the turn's facts are those of its end
            root = payload.get("root_turn_id")
            self.root_turn_id = root if isinstance(root, str) else None
            self.started_at = opt_int(payload.get("started_at"))


class TurnBuilder:
    """The turn builder, fed one rollout record at a time (rules 2-8 of the module
    documentation; rollback markers must already be applied).

    ``legacy_ids`` and ``implicit`` are the numbers of legacy item ids and implicit turns given
    out before the first record fed: a builder started at a turn boundary with the counts of the
    turns before it builds that turn exactly as a builder fed the whole history would."""

    def __init__(self, *, legacy_ids: int = 0, implicit: int = 0) -> None:
        #: The turns closed so far, in order.
        self.closed: list[BuiltTurn] = []
        #: The open turn, if any.
        self.current: _Turn | None = None
        self.legacy_ids = legacy_ids
        self.implicit = implicit

    def feed(self, item: Mapping[str, Any], timestamp: str | None = None) -> None:
        """Take one rollout record (only events matter; ``timestamp`` is when it was written)."""
        if event_type(item) is not None:
            self._handle(item["payload"], timestamp)

    def close(self, status: TurnStatus | None = None) -> None:
        turn = self.current
        if turn is None:
            return
        self.current = None
        if status is not None and turn.status == "in_progress":
            turn.status = status
        shown: list[dict[str, Any]] = []
        created: list[int | None] = []
        for entry in turn.entries:
            if not turn.shown(entry):
                continue
            if entry.legacy:
                self.legacy_ids += 1
                entry.item["id"] = f"item-{self.legacy_ids}"
            shown.append(entry.item)
            created.append(entry.created_ms)
        stored = StoredTurn(
            turn_id=turn.turn_id,
            items=shown,
            items_view="full",
            status=turn.status,
            error=turn.error,
            started_at=turn.started_at,
            completed_at=turn.completed_at,
            duration_ms=turn.duration_ms,
            root_turn_id=turn.root_turn_id,
        )
        self.closed.append(BuiltTurn(stored, created))

    def finish(self) -> list[BuiltTurn]:
        """Close the open turn as a store reports it (rule 9): ``in_progress``, except an
        implicit turn without a user message, which is ``completed``. Returns every closed turn."""
        current = self.current
        if current is not None:
            self.close(None if current.explicit or current.has_user_message() else "completed")
        return self.closed

    def _ensure(self) -> _Turn:
        if self.current is None:
            self.implicit += 1
            self.current = _Turn(f"turn-{self.implicit}", explicit=False)
        return self.current

    def _add(self, item: dict[str, Any], created_ms: int | None, *, legacy: bool) -> None:
        turn = self.current
        if item["type"] == "userMessage" and turn is not None and not turn.explicit and turn.has_user_message():
            self.close("completed")
        turn = self._ensure()
        if not legacy:
            turn.recorded_kinds.add(item["type"])
        turn.entries.append(_Entry(item, legacy, created_ms))

    def _handle(self, payload: Mapping[str, Any], timestamp: str | None) -> None:
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
                    started_at=opt_int(payload.get("started_at")),
                )
            else:
                self._ensure()
        elif kind in _TURN_COMPLETED or kind == "turn_aborted":
            if self.current is not None:
                self.current.finish("interrupted" if kind == "turn_aborted" else "completed", payload)
                self.close()
        elif kind == "item_completed":
            item = completed_item(payload)
            if item is not None:
                self._add(item, _created_ms(timestamp), legacy=False)
        elif kind == "user_message":
            self._add(user_message_item("", user_message_content(payload)), _created_ms(timestamp), legacy=True)
        elif kind == "agent_message":
            text = payload.get("message")
            item = agent_message_item("", text if isinstance(text, str) else "", payload)
            self._add(item, _created_ms(timestamp), legacy=True)
        elif kind in _LEGACY_REASONING:
            self._reasoning(_LEGACY_REASONING[kind], payload.get("text"), timestamp)
        elif kind == "context_compacted":
            self._add({"type": "contextCompaction", "id": ""}, _created_ms(timestamp), legacy=True)
        elif kind == "error" and self.current is not None and error_fails_turn(payload):
            message = payload.get("message")
            self.current.error = StoredTurnError(
                message if isinstance(message, str) else "error", payload.get("codex_error_info")
            )

    def _reasoning(self, key: str, text: object, timestamp: str | None) -> None:
        if not isinstance(text, str):
            return
        turn = self.current
        last = turn.entries[-1] if turn is not None and turn.entries else None
        if last is None or not last.legacy or last.item["type"] != "reasoning":
            self._add(
                {"type": "reasoning", "id": "", "summary": [], "content": []}, _created_ms(timestamp), legacy=True
            )
            last = self._ensure().entries[-1]
        last.item[key].append(text)


def view_items(items: Sequence[dict[str, Any]], view: TurnItemsView) -> list[dict[str, Any]]:
    """The items a turn shows in ``view``: all, none, or (``summary``) the first user message
    and the last agent message."""
    if view == "full":
        return list(items)
    if view == "not_loaded":
        return []
    first_user = next((i for i in items if i.get("type") == "userMessage"), None)
    last_agent = next((i for i in reversed(items) if i.get("type") == "agentMessage"), None)
    return [i for i in (first_user, last_agent) if i is not None]


def turn_to_json(turn: StoredTurn, *, active_turn_id: str | None = None, always_view: bool = False) -> dict[str, Any]:
    """The v2 ``Turn`` of a stored turn. An ``in_progress`` turn is ``inProgress`` only when it
    is the turn running now (``active_turn_id``), else ``interrupted`` (rule 9). ``itemsView``
    appears for turns of current builds (rule 7), or always with ``always_view``."""
    status = turn.status
    if status == "in_progress" and turn.turn_id != active_turn_id:
        status = "interrupted"
    error = turn.error
    return turn_json(
        turn.turn_id,
        status=_V2_STATUS[status],
        items=turn.items,
        error=(
            {
                "message": error.message,
                "codexErrorInfo": error.codex_error_info,
                "additionalDetails": error.additional_details,
            }
            if error is not None
            else None
        ),
        started_at=turn.started_at,
        completed_at=turn.completed_at,
        duration_ms=turn.duration_ms,
        root_turn_id=turn.root_turn_id,
        items_view=_V2_VIEW[turn.items_view] if always_view or turn.root_turn_id is not None else None,
    )


def build_stored_turns(items: Sequence[Item], timestamps: Sequence[str | None] | None = None) -> list[StoredTurn]:
    """The turns of a thread's rollout items as a store reports them (all items, full view)."""
    builder = TurnBuilder()
    for position in kept_positions(items):
        builder.feed(items[position], timestamps[position] if timestamps is not None else None)
    return [built.turn for built in builder.finish()]


def build_turns(items: Sequence[Item], *, active_turn_id: str | None = None) -> list[dict[str, Any]]:
    """The v2 turns of a thread's rollout items (see the module documentation for the rules)."""
    return [turn_to_json(turn, active_turn_id=active_turn_id) for turn in build_stored_turns(items)]
