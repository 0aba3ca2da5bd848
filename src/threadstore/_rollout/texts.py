"""The texts full-text search covers, for a history with history edits applied.

Stores index a thread's message texts (:func:`~.summary.search_texts`) as its lines arrive. A
history edit (:mod:`.edits`) takes lines away, and their texts must go with them, or a search
would find words the session removed. :class:`SearchTexts` keeps the texts of a history in
order, each tagged with how many response items were visible when it was found; since an edit
only ever cuts the history back to some number of visible response items (or to nothing),
dropping the texts whose tag is above that number leaves exactly the texts of the visible
lines. Stores feed it every line (incremental readers can keep one per thread, or rebuild one
from the lines when an edit arrives).

A text equal to one of the last four kept is not kept again (Codex writes each message twice:
an event for people and a response item for the model).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from threadstore._rollout.edits import CLEAR, edit_of
from threadstore._rollout.messages import search_texts

__all__ = ["SearchText", "SearchTexts", "has_edit"]


class SearchText(NamedTuple):
    """One text: where it was found (the line's ``seq``, given by the caller, and its place
    ``n`` among that line's texts) and the visible response items before it (``tag``)."""

    text: str
    seq: int
    n: int
    tag: int


def has_edit(items: Iterable[Mapping[str, Any]]) -> bool:
    """Whether any of ``items`` is a history edit (texts kept so far may have to go)."""
    return any(edit_of(item) is not None for item in items)


class SearchTexts:
    """The searchable texts of the visible history (see the module documentation)."""

    def __init__(self) -> None:
        self.entries: list[SearchText] = []
        self._responses = 0
        #: Set once an edit removed texts (stores that index incrementally start again).
        self.edited = False

    @property
    def texts(self) -> list[str]:
        return [entry.text for entry in self.entries]

    def recent(self) -> list[str]:
        """The last four texts kept (what the next text is compared with)."""
        return [entry.text for entry in self.entries[-4:]]

    def add(self, item: Mapping[str, Any], seq: int = 0) -> None:
        """Take the next line of the history (``seq``: its position, for the caller's keys)."""
        edit = edit_of(item)
        if edit is not None:
            left = -1 if edit == CLEAR or edit > self._responses else self._responses - edit
            self._responses = max(0, left)
            kept = [entry for entry in self.entries if entry.tag <= left]
            if len(kept) != len(self.entries):
                self.edited = True
            self.entries = kept
            return
        if item.get("type") == "response_item":
            self._responses += 1
        recent = self.recent()
        for n, text in enumerate(search_texts(item)):
            if text not in recent:
                self.entries.append(SearchText(text, seq, n, self._responses))
                recent = [*recent[-3:], text]

    def add_all(self, items: Iterable[Mapping[str, Any]], first_seq: int = 0) -> None:
        for seq, item in enumerate(items, first_seq):
            self.add(item, seq)
