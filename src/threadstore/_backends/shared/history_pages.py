"""Pages of turns and items served from a thread's turn index (:mod:`.turn_index`).

:class:`PagedHistory` is one thread's up-to-date index as a backend exposes it: span queries
and a record reader. On top of them it answers ``list_turns`` and ``list_items`` the same way
for every backend, reading only the records of the turns a page shows (plus, for items, the
turns it passes through): a page of a 100,000-record thread costs about what the same page of a
short thread costs.

Order and cursors (see :mod:`.paging`): turns are in history order (``asc``) or newest first
(``desc``); items are in history order of their ordinals, or the reverse. A cursor anchors on
one turn (position and id) or one item (ordinal and key); an anchor that is no longer there (a
rollback removed it) makes the cursor invalid rather than silently shifting the page.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Sequence
from typing import Final

from threadstore._contract.paging import (
    ItemAnchor,
    ItemPage,
    ListItemsParams,
    ListTurnsParams,
    StoredThreadItem,
    TurnPage,
    encode_item_cursor,
    encode_turn_cursor,
)
from threadstore._rollout.turn_index import Ranges, Record, TurnSpan, build_spans, effective_ranges
from threadstore._rollout.turns import BuiltTurn, view_items
from threadstore.errors import InvalidRequest

__all__ = ["PagedHistory"]

#: Spans fetched at a time while walking items.
_SPAN_BATCH: Final = 8


def _merged(ranges: Sequence[tuple[int, int]]) -> Ranges:
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out


def _items_of(span: TurnSpan, built: BuiltTurn) -> list[StoredThreadItem]:
    return [
        StoredThreadItem(
            turn_id=span.turn_id,
            item_key=str(item.get("id", "")),
            item_ordinal=span.items_before + position,
            item=item,
            item_created_at_ms=built.created_ms[position],
        )
        for position, item in enumerate(built.turn.items)
    ]


def _after_anchor(items: list[StoredThreadItem], anchor: ItemAnchor) -> list[StoredThreadItem]:
    """``items`` (in page order) from the anchor on (after it unless the cursor includes it)."""
    for position, item in enumerate(items):
        if item.item_ordinal == anchor.ordinal:
            if item.item_key != anchor.key:
                break
            return items[position if anchor.include else position + 1 :]
    raise InvalidRequest("invalid cursor: anchor item is no longer present")


class PagedHistory(abc.ABC):
    """One thread's turn index, up to date, as a backend exposes it (see the module
    documentation). ``turns`` is the number of turns; ``removed`` the ordinal ranges rollback
    markers removed."""

    def __init__(self, thread_id: str, turns: int, removed: Sequence[tuple[int, int]]) -> None:
        self.thread_id = thread_id
        self.turns = turns
        self.removed = list(removed)

    # -- what a backend supplies -----------------------------------------------------------------

    @abc.abstractmethod
    async def spans(self, lo: int, hi: int) -> list[TurnSpan]:
        """The spans at positions ``lo`` to ``hi`` (exclusive), in order."""

    @abc.abstractmethod
    async def span_with_item(self, ordinal: int) -> TurnSpan | None:
        """The span that shows the item of this ordinal."""

    @abc.abstractmethod
    async def spans_with_items(self, seq: int, ascending: bool, limit: int) -> list[TurnSpan]:
        """Up to ``limit`` spans that show items, after position ``seq`` in the direction
        asked (``seq`` may be -1 or :attr:`turns` to start at an end), nearest first."""

    @abc.abstractmethod
    async def spans_of_turn(self, turn_id: str) -> list[TurnSpan]:
        """The spans of the turns with this id, in order."""

    @abc.abstractmethod
    async def read(self, ranges: Ranges) -> list[Record]:
        """The records of these ordinal ranges (sorted, disjoint, none removed), in order."""

    # -- pages -----------------------------------------------------------------------------------

    async def build(self, spans: Sequence[TurnSpan]) -> list[BuiltTurn]:
        """The turns of ``spans``, from one read of their records."""
        if not spans:
            return []
        ranges = [r for span in spans for r in effective_ranges(span.first, span.end, self.removed)]
        return build_spans(spans, await self.read(_merged(ranges)))

    async def list_turns(self, params: ListTurnsParams) -> TurnPage:
        total, size, anchor = self.turns, params.page_size, params.anchor
        ascending = params.sort_direction == "asc"
        if anchor is not None:
            found = await self.spans(anchor.seq, anchor.seq + 1) if anchor.seq < total else []
            if not found or found[0].turn_id != anchor.turn_id:
                raise InvalidRequest("invalid cursor: anchor turn is no longer present")
        if ascending:
            lo = 0 if anchor is None else anchor.seq + (0 if anchor.include else 1)
            hi = min(total, lo + size)
            more = hi < total
        else:
            hi = total if anchor is None else anchor.seq + (1 if anchor.include else 0)
            lo = max(0, hi - size)
            more = lo > 0
        spans = await self.spans(lo, hi) if lo < hi else []
        view = params.items_view
        turns = [
            dataclasses.replace(b.turn, items=view_items(b.turn.items, view), items_view=view)
            for b in await self.build(spans)
        ]
        if not ascending:
            spans.reverse()
            turns.reverse()
        if not turns:
            return TurnPage()
        first, last = spans[0], spans[-1]
        return TurnPage(
            turns=turns,
            next_cursor=encode_turn_cursor(last.seq, last.turn_id, include=False) if more else None,
            backwards_cursor=encode_turn_cursor(first.seq, first.turn_id, include=True),
        )

    async def list_items(self, params: ListItemsParams) -> ItemPage:
        ascending = params.sort_direction == "asc"
        if params.turn_id is not None:
            items, more = await self._turn_items(params.turn_id, params.anchor, ascending, params.page_size)
        else:
            items, more = await self._walk_items(params.anchor, ascending, params.page_size)
        if not items:
            return ItemPage()
        first, last = items[0], items[-1]
        return ItemPage(
            items=items,
            next_cursor=encode_item_cursor(last.item_ordinal, last.item_key, include=False) if more else None,
            backwards_cursor=encode_item_cursor(first.item_ordinal, first.item_key, include=True),
        )

    async def _turn_items(
        self, turn_id: str, anchor: ItemAnchor | None, ascending: bool, size: int
    ) -> tuple[list[StoredThreadItem], bool]:
        spans = await self.spans_of_turn(turn_id)
        if not spans:
            raise InvalidRequest(f"thread {self.thread_id} has no turn {turn_id}")
        items = [
            item for span, built in zip(spans, await self.build(spans), strict=True) for item in _items_of(span, built)
        ]
        if not ascending:
            items.reverse()
        if anchor is not None:
            items = _after_anchor(items, anchor)
        return items[:size], len(items) > size

    async def _walk_items(
        self, anchor: ItemAnchor | None, ascending: bool, size: int
    ) -> tuple[list[StoredThreadItem], bool]:
        """Items from the anchor (or an end) on, from just the turns that hold them: the spans'
        item counts say which turns a page needs before any record is read."""
        chosen: list[TurnSpan] = []
        counted = 0
        seq = -1 if ascending else self.turns
        if anchor is not None:
            span = await self.span_with_item(anchor.ordinal)
            if span is None:
                raise InvalidRequest("invalid cursor: anchor item is no longer present")
            chosen.append(span)
            left = span.items_after - anchor.ordinal if ascending else anchor.ordinal - span.items_before + 1
            counted = left - (0 if anchor.include else 1)
            seq = span.seq
        while counted <= size:
            more = await self.spans_with_items(seq, ascending, _SPAN_BATCH)
            for span in more:
                chosen.append(span)
                counted += span.item_count
                if counted > size:
                    break
            if len(more) < _SPAN_BATCH or counted > size:
                break
            seq = more[-1].seq
        out: list[StoredThreadItem] = []
        for position, (span, built) in enumerate(zip(chosen, await self.build(chosen), strict=True)):
            items = _items_of(span, built)
            if not ascending:
                items.reverse()
            if anchor is not None and position == 0:
                items = _after_anchor(items, anchor)
            out.extend(items)
        return out[:size], len(out) > size
