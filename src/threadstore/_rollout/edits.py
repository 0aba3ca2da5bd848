"""History edits: the append-only markers that take response items out of a thread's history.

Codex never deletes a line: a rollback appends ``thread_rolled_back {num_turns}`` and readers
drop the turns it names (:mod:`.rollback`). Sessions that edit their history item by item (the
OpenAI Agents SDK's ``pop_item`` and ``clear_session``) get two markers of the same kind, both
``event_msg`` lines:

``thread_items_popped {num_items: n}`` (n >= 1)
    The last ``n`` *response items* (``response_item`` lines) visible before the marker are
    gone, and with them every line after the earliest of them (the ``user_message`` or
    ``agent_message`` event that mirrors a message follows it, so it goes too). When fewer than
    ``n`` response items are visible, every line before the marker is gone.

``thread_history_cleared {}``
    Every line before the marker is gone.

The markers themselves are never shown, and nothing un-hides a line: later markers only remove
more. Readers apply them with rollback markers in one pass (:func:`.rollback.kept_positions`);
this module has the markers, their recognition, and the backward scan that answers "the last
``n`` visible response items" from the tail of a history alone (:func:`scan_tail`), which is
what lets a session read its last items without loading the whole thread.

Codex itself does not know these events: it skips lines it cannot parse, so in Codex a popped
item or a cleared history still shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from threadstore._rollout.items import Item, event, event_type

__all__ = [
    "HISTORY_CLEARED",
    "ITEMS_POPPED",
    "TailScan",
    "edit_of",
    "history_cleared",
    "is_edit",
    "items_popped",
    "scan_tail",
]

ITEMS_POPPED: Final = "thread_items_popped"
HISTORY_CLEARED: Final = "thread_history_cleared"

#: ``edit_of`` answer for a clear marker (it removes everything before it).
CLEAR: Final = -1


def items_popped(num_items: int = 1) -> Item:
    """The marker that removes the last ``num_items`` visible response items."""
    if not isinstance(num_items, int) or isinstance(num_items, bool) or num_items < 1:
        raise ValueError("num_items must be a positive integer")
    return event(ITEMS_POPPED, num_items=num_items)


def history_cleared() -> Item:
    """The marker that removes every line before it."""
    return event(HISTORY_CLEARED)


def edit_of(item: Mapping[str, Any]) -> int | None:
    """For an edit marker, how many response items it pops (:data:`CLEAR` for a clear marker; a
    malformed count pops one); None for any other line."""
    kind = event_type(item)
    if kind == ITEMS_POPPED:
        n = item["payload"].get("num_items")
        return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1
    if kind == HISTORY_CLEARED:
        return CLEAR
    return None


def is_edit(item: Mapping[str, Any]) -> bool:
    """Whether ``item`` is an edit marker."""
    return edit_of(item) is not None


@dataclass(slots=True)
class TailScan:
    """What :func:`scan_tail` found. ``items``: the visible response-item lines it found, oldest
    first (at most the number asked for). ``settled``: the answer does not depend on lines
    before the scanned ones (enough items were found, or a clear marker ends what is visible).
    ``needs_full``: a rollback marker was met; only a forward pass over the whole history
    (:func:`.rollback.kept_positions`) can say what is visible. ``scanned``: how many lines
    (from the end) the answer took."""

    items: list[Item] = field(default_factory=list)
    settled: bool = False
    needs_full: bool = False
    scanned: int = 0


def scan_tail(lines: Sequence[Item], wanted: int) -> TailScan:
    """The last ``wanted`` visible response items among ``lines``, the last lines of a history
    (in order), read from the newest back. Scanning backwards, a pop marker hides the next
    ``n`` response items met and every line until the last of them, a clear marker ends the
    scan. (Lines after a cut are always hidden together with it, so counting markers backwards
    gives exactly what the forward pass of :mod:`.rollback` gives.)"""
    found: list[Item] = []
    pending = 0
    if wanted <= 0:
        return TailScan(settled=True)
    for scanned, line in enumerate(reversed(lines), 1):
        kind = line.get("type")
        if kind == "event_msg":
            payload = line.get("payload")
            event = payload.get("type") if isinstance(payload, dict) else None
            if event == HISTORY_CLEARED:
                found.reverse()
                return TailScan(found, settled=True, scanned=scanned)
            if event == ITEMS_POPPED:
                pending += edit_of(line) or 1
            elif event == "thread_rolled_back":
                return TailScan(needs_full=True, scanned=scanned)
            continue
        if kind != "response_item":
            continue
        if pending:
            pending -= 1
            continue
        found.append(line)
        if len(found) == wanted:
            found.reverse()
            return TailScan(found, settled=True, scanned=scanned)
    found.reverse()
    return TailScan(found, scanned=len(lines))
