"""Pure functions over a thread's rollout items: user turns, rollback, model history, forks.

All functions take the items in replay order and never modify them. Rollback is append-only
everywhere: a ``thread_rolled_back {num_turns: n}`` event tells every reader to drop the last
``n`` user turns that precede it.

A *user turn* starts at a real user message: a ``response_item`` ``message`` with role ``user``
that is not injected context (``<environment_context>``, AGENTS.md instructions, ...). Its
*start* in the rollout is the ``task_started`` that opened it, when one precedes the message
within the turn (Codex writes ``task_started`` and ``turn_context`` before the user message),
else the message itself. A further user message inside a turn (opened by ``task_started``)
that already has one is input steered into that turn: it belongs to the turn and starts none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..errors import InvalidRequest
from ..items import Item, assistant_message, event_type, turn_aborted
from ..store import forks
from ..store.live import initial_session_meta
from ..store.summary import CONTEXTUAL_PREFIXES, message_text
from ..store.types import CreateThreadParams, TokenUsage
from ..timeutil import now_rfc3339

__all__ = [
    "ActiveTurn",
    "apply_rollback_markers",
    "ends_mid_turn",
    "event_messages",
    "fork_items",
    "fork_reference_line",
    "interrupted_boundary",
    "is_user_message",
    "last_token_usage",
    "reconstruct_model_history",
    "user_turn_positions",
    "user_turn_starts",
]

_TURN_STARTED: Final = frozenset({"task_started", "turn_started"})
_TURN_ENDED: Final = frozenset({"task_complete", "turn_complete", "turn_aborted"})
_SKIPPED_RESPONSE_ITEMS: Final = frozenset({"ghost_snapshot", "compaction_trigger", "other"})


def is_user_message(payload: Mapping[str, Any]) -> bool:
    """True when a response-item payload is a real user message (role ``user``, not injected
    context)."""
    if payload.get("type") != "message" or payload.get("role") != "user":
        return False
    text = message_text(payload).strip()
    if text.startswith(CONTEXTUAL_PREFIXES):
        return False
    if text:
        return True
    content = payload.get("content")
    return isinstance(content, list) and any(
        isinstance(part, Mapping) and part.get("type") == "input_image" for part in content
    )


def _user_message_item(item: Mapping[str, Any]) -> bool:
    payload = item.get("payload")
    return item.get("type") == "response_item" and isinstance(payload, Mapping) and is_user_message(payload)


def _rollback_turns(item: Mapping[str, Any]) -> int | None:
    if event_type(item) != "thread_rolled_back":
        return None
    n = item["payload"].get("num_turns")
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 0


class _TurnScan:
    """Where user turns start, fed the items in order (see the module documentation)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._opened: int | None = None
        self._in_turn = False
        self._has_user = False

    def step(self, item: Mapping[str, Any], position: int) -> int | None:
        """The start of the user turn ``item`` begins (``position`` is the item's place in the
        caller's sequence, recorded for a ``task_started``), or None."""
        kind = event_type(item)
        if kind in _TURN_STARTED:
            self._opened, self._in_turn, self._has_user = position, True, False
        elif kind in _TURN_ENDED:
            self.reset()
        elif _user_message_item(item):
            if self._in_turn and self._has_user:
                return None
            start = self._opened if self._opened is not None else position
            self._opened, self._has_user = None, True
            return start
        return None


def _scan_turns(items: Sequence[Mapping[str, Any]]) -> list[tuple[int, int]]:
    """(turn start, user message index) of every surviving user turn."""
    turns: list[tuple[int, int]] = []
    scan = _TurnScan()
    for index, item in enumerate(items):
        n = _rollback_turns(item)
        if n is not None:
            del turns[max(0, len(turns) - n) :]
            scan.reset()
            continue
        start = scan.step(item, index)
        if start is not None:
            turns.append((start, index))
    return turns


def user_turn_positions(items: Sequence[Mapping[str, Any]]) -> list[int]:
    """Indices of the user messages of the turns that survive rollback markers."""
    return [position for _, position in _scan_turns(items)]


def user_turn_starts(items: Sequence[Mapping[str, Any]]) -> list[int]:
    """Indices where the surviving user turns start (see the module documentation)."""
    return [start for start, _ in _scan_turns(items)]


def apply_rollback_markers(items: Sequence[Item]) -> list[Item]:
    """The items as a reader sees them after rollback: the turns each marker rolls back are
    removed, and so are the markers."""
    out: list[Item] = []
    starts: list[int] = []
    scan = _TurnScan()
    for item in items:
        n = _rollback_turns(item)
        if n is not None:
            if n and starts:
                cut = starts[max(0, len(starts) - n)]
                del out[cut:]
                del starts[max(0, len(starts) - n) :]
            scan.reset()
            continue
        start = scan.step(item, len(out))
        if start is not None:
            starts.append(start)
        out.append(item)
    return out


def reconstruct_model_history(items: Sequence[Item]) -> list[dict[str, Any]]:
    """The model-visible history (response-item payloads) a resumed session continues from.

    Replays ``response_item`` payloads in order. A ``compacted`` item with a
    ``replacement_history`` replaces everything before it; a legacy one (summary only) keeps the
    user messages so far and adds the summary as an assistant message. A ``thread_rolled_back``
    marker drops the last ``num_turns`` user turns (from their user message on).
    """
    history: list[dict[str, Any]] = []
    starts: list[int] = []
    scan = _TurnScan()
    for item in items:
        kind = item.get("type")
        payload = item.get("payload")
        begins = scan.step(item, len(history)) is not None
        if kind == "response_item" and isinstance(payload, Mapping):
            if payload.get("type") in _SKIPPED_RESPONSE_ITEMS:
                continue
            if begins:
                starts.append(len(history))
            history.append(dict(payload))
        elif kind == "compacted" and isinstance(payload, Mapping):
            replacement = payload.get("replacement_history")
            if isinstance(replacement, list):
                history = [dict(p) for p in replacement if isinstance(p, Mapping)]
            else:
                users = [p for p in history if is_user_message(p)]
                summary = payload.get("message")
                history = [*users, assistant_message(summary if isinstance(summary, str) else "")["payload"]]
            starts = [i for i, p in enumerate(history) if is_user_message(p)]
        else:
            n = _rollback_turns(item)
            if n is not None:
                scan.reset()
            if n and starts:
                keep = max(0, len(starts) - n)
                del history[starts[keep] :]
                del starts[keep:]
    return history


@dataclass(frozen=True, slots=True)
class ActiveTurn:
    """A turn that was started but never completed or aborted."""

    turn_id: str | None
    """The id from its ``task_started`` (None for a history without turn events)."""
    start_index: int
    """Where the turn starts in the items."""


def ends_mid_turn(items: Sequence[Item]) -> ActiveTurn | None:
    """The turn still open at the end of ``items``, or None.

    With turn events, the last ``task_started`` not followed by ``task_complete`` or
    ``turn_aborted`` is open. Without any (synthetic histories), the history ends mid-turn when
    no turn end follows the last user message."""
    active: ActiveTurn | None = None
    explicit = False
    for index, item in enumerate(items):
        kind = event_type(item)
        if kind in _TURN_STARTED:
            explicit = True
            turn_id = item["payload"].get("turn_id")
            active = ActiveTurn(turn_id if isinstance(turn_id, str) else None, index)
        elif kind in _TURN_ENDED:
            active = None
    if explicit:
        return active
    positions = user_turn_positions(items)
    if not positions:
        return None
    last = positions[-1]
    if any(event_type(item) in _TURN_ENDED for item in items[last + 1 :]):
        return None
    return ActiveTurn(None, last)


def interrupted_boundary(turn_id: str | None) -> list[Item]:
    """The items an interrupt writes to close an open turn: a ``turn_aborted`` event with the
    turn's id and reason ``interrupted``."""
    return [turn_aborted(turn_id, "interrupted")]


def fork_items(items: Sequence[Item], nth_user_message: int | None = None) -> list[Item]:
    """The items a fork copies from its source.

    ``nth_user_message=None`` keeps the whole history; if it ends mid-turn, the interrupted
    boundary is appended. An integer ``n`` (0-based) cuts before the start of the ``n``-th
    surviving user turn; when ``n`` is out of range the whole committed history is kept, except
    that an unfinished last turn is cut off (before its start).
    """
    if nth_user_message is not None and (
        not isinstance(nth_user_message, int) or isinstance(nth_user_message, bool) or nth_user_message < 0
    ):
        raise InvalidRequest(f"nth_user_message must be a non-negative integer, got {nth_user_message!r}")
    active = ends_mid_turn(items)
    if nth_user_message is None:
        kept = list(items)
        if active is not None:
            kept.extend(interrupted_boundary(active.turn_id))
        return kept
    starts = user_turn_starts(items)
    if nth_user_message < len(starts):
        cut = starts[nth_user_message]
        if active is not None:
            cut = min(cut, active.start_index)
        return list(items[:cut])
    if active is not None:
        return list(items[: active.start_index])
    return list(items)


def last_token_usage(items: Sequence[Item]) -> TokenUsage | None:
    """The cumulative usage of the last ``token_count`` that carries it, after rollback."""
    # A token count after the last rollback marker survives it: usually no full replay is needed.
    candidates: Sequence[Item] = items
    for item in reversed(items):
        kind = event_type(item)
        if kind == "thread_rolled_back":
            candidates = apply_rollback_markers(items)
            break
        if kind == "token_count" and isinstance(item["payload"].get("info"), Mapping):
            break
    for item in reversed(candidates):
        if event_type(item) == "token_count":
            info = item["payload"].get("info")
            if isinstance(info, Mapping):
                usage = TokenUsage.from_json(info.get("total_token_usage"))
                if usage is not None:
                    return usage
    return None


def event_messages(items: Sequence[Item]) -> list[dict[str, Any]]:
    """The ``event_msg`` payloads of ``items`` in order (what a UI replays)."""
    return [dict(item["payload"]) for item in items if event_type(item) is not None]


def fork_reference_line(params: CreateThreadParams, history: Sequence[Item], kept: int) -> Item:
    """The first line of a fork by reference (the 0.169 era) that keeps the first ``kept`` items
    of its parent's (resolved) ``history``: the fork's ``session_meta`` naming the parent and the
    ordinal where the fork cuts, itself numbered with that ordinal."""
    if kept < len(history):
        cut = forks.ordinal(history[kept], kept)
    else:
        cut = forks.ordinal(history[-1], len(history) - 1) + 1 if history else 0
    meta = initial_session_meta(params, now_rfc3339())
    payload = {
        "session_id": params.thread_id,
        **meta["payload"],
        "forked_from_ordinal_exclusive": cut,
        "history_mode": "paginated",
    }
    return {"ordinal": cut, "type": meta["type"], "payload": payload}
