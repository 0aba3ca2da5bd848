"""Rollback markers and user turns: how a reader sees a history after ``thread_rolled_back``.

Rollback is append-only everywhere: a ``thread_rolled_back {num_turns: n}`` event tells every
reader to drop the last ``n`` user turns that precede it (the marker itself is never shown).

A *user turn* starts at a real user message: a ``response_item`` ``message`` with role ``user``
that is not injected context (``<environment_context>``, AGENTS.md instructions, ...). Its
*start* in the rollout is the ``task_started`` that opened it, when one precedes the message
within the turn (Codex writes ``task_started`` and ``turn_context`` before the user message),
else the message itself. A further user message inside a turn (opened by ``task_started``)
that already has one is input steered into that turn: it belongs to the turn and starts none.

History edits (``thread_items_popped``, ``thread_history_cleared``: :mod:`.edits`) are applied in
the same pass: every reader that honours rollback honours them too.

The store layer needs this to serve turns a page at a time (:mod:`.turn_index`); the runtime
builds its history functions on it (:mod:`threadstore._runtime.history`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from threadstore._rollout.edits import CLEAR, edit_of
from threadstore._rollout.items import Item, event_type
from threadstore._rollout.messages import CONTEXTUAL_PREFIXES, is_message, message_text

__all__ = [
    "TURN_ENDED",
    "TURN_STARTED",
    "TurnScan",
    "apply_rollback_markers",
    "is_user_message",
    "kept_positions",
    "rollback_turns",
]

TURN_STARTED: Final = frozenset({"task_started", "turn_started"})
TURN_ENDED: Final = frozenset({"task_complete", "turn_complete", "turn_aborted"})


def is_user_message(payload: Mapping[str, Any]) -> bool:
    """True when a response-item payload is a real user message (role ``user``, not injected
    context)."""
    if not is_message(payload) or payload.get("role") != "user":
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


def rollback_turns(item: Mapping[str, Any]) -> int | None:
    """How many user turns a ``thread_rolled_back`` marker drops (0 for a malformed count), or
    None when ``item`` is not a marker."""
    if event_type(item) != "thread_rolled_back":
        return None
    n = item["payload"].get("num_turns")
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 0


class TurnScan:
    """Where user turns start, fed the items in order (see the module documentation)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.opened: int | None = None
        self.in_turn = False
        self.has_user = False

    def state(self) -> tuple[int | None, bool, bool]:
        """What the scan remembers (to resume it later with :meth:`restore`)."""
        return self.opened, self.in_turn, self.has_user

    def restore(self, state: Sequence[Any]) -> None:
        opened, in_turn, has_user = state
        self.opened = opened if isinstance(opened, int) else None
        self.in_turn, self.has_user = bool(in_turn), bool(has_user)

    def step(self, item: Mapping[str, Any], position: int) -> int | None:
        """The start of the user turn ``item`` begins (``position`` is the item's place in the
        caller's sequence, recorded for a ``task_started``), or None."""
        kind = event_type(item)
        if kind in TURN_STARTED:
            self.opened, self.in_turn, self.has_user = position, True, False
        elif kind in TURN_ENDED:
            self.reset()
        elif _user_message_item(item):
            if self.in_turn and self.has_user:
                return None
            start = self.opened if self.opened is not None else position
            self.opened, self.has_user = None, True
            return start
        return None


def kept_positions(
    items: Sequence[Mapping[str, Any]], *, rollbacks: bool = True, keep_markers: bool = False
) -> list[int]:
    """The positions of the items a reader sees after rollback and history edits (in order):
    the turns each rollback marker rolls back are removed, and so are the lines each edit
    marker removes (:mod:`.edits`). The markers are not kept, unless ``keep_markers`` (for
    readers that show them as notes). With ``rollbacks=False`` rollback markers are left alone
    (kept as ordinary lines); edits are always applied."""
    out: list[int] = []
    starts: list[int] = []
    responses: list[int] = []  # where in ``out`` the visible response items are
    scan = TurnScan()

    def cut_at(cut: int) -> None:
        del out[cut:]
        while starts and starts[-1] >= cut:
            starts.pop()
        while responses and responses[-1] >= cut:
            responses.pop()

    for position, item in enumerate(items):
        edit = edit_of(item)
        if edit is not None:
            cut_at(0 if edit == CLEAR or edit > len(responses) else responses[-edit])
            scan.reset()
            if keep_markers:
                out.append(position)
            continue
        n = rollback_turns(item) if rollbacks else None
        if n is not None:
            if n and starts:
                cut_at(starts[max(0, len(starts) - n)])
            scan.reset()
            if keep_markers:
                out.append(position)
            continue
        start = scan.step(item, len(out))
        if start is not None:
            starts.append(start)
        if item.get("type") == "response_item":
            responses.append(len(out))
        out.append(position)
    return out


def apply_rollback_markers(items: Sequence[Item]) -> list[Item]:
    """The items as a reader sees them after rollback (see :func:`kept_positions`)."""
    return [items[position] for position in kept_positions(items)]
