"""Pure functions over a thread's rollout items: user turns, rollback, model history, forks.

All functions take the items in replay order and never modify them. What a rollback marker
drops and where user turns start is defined in :mod:`threadstore._rollout.rollback` (the store
serves turns a page at a time by the same rules); this module builds on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from threadstore._contract.first_line import initial_session_meta
from threadstore._contract.types import CreateThreadParams, TokenUsage
from threadstore._rollout import forks
from threadstore._rollout.items import Item, assistant_message, event_type, turn_aborted
from threadstore._rollout.rollback import (
    TURN_ENDED,
    TURN_STARTED,
    TurnScan,
    apply_rollback_markers,
    is_user_message,
    kept_positions,
    rollback_turns,
)
from threadstore._time import now_rfc3339
from threadstore.errors import InvalidRequest

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

_SKIPPED_RESPONSE_ITEMS: Final = frozenset({"ghost_snapshot", "compaction_trigger", "other"})


def _scan_turns(items: Sequence[Mapping[str, Any]]) -> list[tuple[int, int]]:
    """(turn start, user message index) of every surviving user turn."""
    turns: list[tuple[int, int]] = []
    scan = TurnScan()
    for index, item in enumerate(items):
        n = rollback_turns(item)
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


def reconstruct_model_history(items: Sequence[Item]) -> list[dict[str, Any]]:
    """The model-visible history (response-item payloads) a resumed session continues from.

    Replays ``response_item`` payloads in order. A ``compacted`` item with a
    ``replacement_history`` replaces everything before it; a legacy one (summary only) keeps the
    user messages so far and adds the summary as an assistant message. A ``thread_rolled_back``
    marker drops the last ``num_turns`` user turns (from their user message on). History edits
    (:mod:`threadstore._rollout.edits`) are applied first.
    """
    items = [items[position] for position in kept_positions(items, rollbacks=False)]
    history: list[dict[str, Any]] = []
    starts: list[int] = []
    scan = TurnScan()
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
            n = rollback_turns(item)
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
        if kind in TURN_STARTED:
            explicit = True
            turn_id = item["payload"].get("turn_id")
            active = ActiveTurn(turn_id if isinstance(turn_id, str) else None, index)
        elif kind in TURN_ENDED:
            active = None
    if explicit:
        return active
    positions = user_turn_positions(items)
    if not positions:
        return None
    last = positions[-1]
    if any(event_type(item) in TURN_ENDED for item in items[last + 1 :]):
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
