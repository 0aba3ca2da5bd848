"""Forks by reference (newer Codex builds): a thread whose first ``session_meta`` names
``forked_from_id`` and ``forked_from_ordinal_exclusive`` stores only its own lines; its history
is its parent's lines whose ordinal is below that point (a line's ``ordinal``, or its position
when it has none), followed by its own lines after the first. Every backend reads such a thread
the same way, with these functions; a parent that cannot be found leaves the history as stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from threadstore._rollout.items import Item

__all__ = ["MAX_FORK_DEPTH", "ForkReference", "fork_reference", "inherited", "ordinal", "resolve"]

MAX_FORK_DEPTH: Final = 16
"""How many references deep a history is resolved (a longer chain, or a cycle, stops there)."""

Stamps = list[str | None]
ForkReference = tuple[str, int]


def ordinal(item: Mapping[str, Any], index: int) -> int:
    """A line's ``ordinal`` (newer Codex files), or its position."""
    value = item.get("ordinal")
    return value if isinstance(value, int) and not isinstance(value, bool) else index


def fork_reference(items: Sequence[Mapping[str, Any]]) -> ForkReference | None:
    """(parent id, cut ordinal) when the history's first line is a fork by reference."""
    if not items or items[0].get("type") != "session_meta":
        return None
    meta = items[0].get("payload")
    if not isinstance(meta, Mapping):
        return None
    parent = meta.get("forked_from_id")
    cut = meta.get("forked_from_ordinal_exclusive")
    if not isinstance(parent, str) or not isinstance(cut, int) or isinstance(cut, bool):
        return None
    return parent, cut


def resolve(
    items: list[Item],
    stamps: Stamps,
    parent_history: Callable[[str], tuple[list[Item], Stamps] | None],
    depth: int = 0,
) -> tuple[list[Item], Stamps]:
    """The history ``items`` (with their ``stamps``) stand for. ``parent_history`` gives a
    thread's stored lines, or None when it is unknown."""
    reference = fork_reference(items)
    if reference is None or depth >= MAX_FORK_DEPTH:
        return items, stamps
    parent_id, cut = reference
    found = parent_history(parent_id)
    if found is None:
        return items, stamps
    parent_items, parent_stamps = resolve(found[0], found[1], parent_history, depth + 1)
    kept = [
        (item, stamp)
        for index, (item, stamp) in enumerate(zip(parent_items, parent_stamps, strict=True))
        if ordinal(item, index) < cut
    ]
    return (
        [items[0], *(item for item, _ in kept), *items[1:]],
        [stamps[0], *(stamp for _, stamp in kept), *stamps[1:]],
    )


def inherited(
    first: Item, stamp: str | None, parent_history: Callable[[str], tuple[list[Item], Stamps] | None]
) -> list[tuple[Item, str | None]]:
    """The parent lines (with their times) a thread whose first line is ``first`` inherits: none
    unless it is a fork by reference whose parent is found."""
    items, stamps = resolve([first], [stamp], parent_history)
    return list(zip(items[1:], stamps[1:], strict=True))
