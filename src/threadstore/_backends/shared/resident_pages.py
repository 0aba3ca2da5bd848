"""The turn index of a thread whose records are all in memory (the in-memory store's threads).

It runs the same :class:`~.turn_index.TurnIndexer` as the durable backends, brought up to date
with the records appended since the last page, and serves pages through
:class:`~.history_pages.PagedHistory`; only the storage of spans differs (a list).
"""

from __future__ import annotations

import bisect
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeAlias

from threadstore._backends.shared.history_pages import PagedHistory
from threadstore._rollout.items import Item
from threadstore._rollout.turn_index import IndexHead, Ranges, Record, TurnIndexer, TurnSpan, drive

__all__ = ["MemoryTurnIndex"]

Reader: TypeAlias = Callable[[Ranges], Awaitable[list[Record]]]


class MemoryTurnIndex:
    """The index of one in-memory history (``records`` grows by appends only)."""

    def __init__(self) -> None:
        self.head = IndexHead()
        self.spans: list[TurnSpan] = []

    async def view(self, thread_id: str, records: Sequence[Item]) -> PagedHistory:
        """The index brought up to date with ``records``, as pages are served from it."""

        async def read(ranges: Ranges) -> list[Record]:
            return [(o, records[o], None) for lo, hi in ranges for o in range(lo, hi)]

        async def load(before: int) -> list[TurnSpan]:
            return self.spans[:before]

        if self.head.watermark < len(records):
            indexer = TurnIndexer(self.head, self.spans[-1:])
            await drive(indexer.start(), read, load)
            new = [(o, records[o], None) for o in range(self.head.watermark, len(records))]
            await drive(indexer.feed(new), read, load)
            indexer.finish()
            self.spans[indexer.dirty_from :] = [s for s in indexer.spans if s.seq >= indexer.dirty_from]
        return _ListHistory(thread_id, self, read)


class _ListHistory(PagedHistory):
    def __init__(self, thread_id: str, index: MemoryTurnIndex, reader: Reader) -> None:
        super().__init__(thread_id, index.head.turns, index.head.removed)
        self._spans = list(index.spans)
        self._reader = reader

    async def spans(self, lo: int, hi: int) -> list[TurnSpan]:
        return self._spans[max(0, lo) : max(0, hi)]

    async def span_with_item(self, ordinal: int) -> TurnSpan | None:
        # The last span starting at or before the ordinal holds it, if any span does.
        position = bisect.bisect_right([s.items_before for s in self._spans], ordinal) - 1
        span = self._spans[position] if position >= 0 else None
        return span if span is not None and ordinal < span.items_after else None

    async def spans_with_items(self, seq: int, ascending: bool, limit: int) -> list[TurnSpan]:
        positions = range(seq + 1, len(self._spans)) if ascending else range(min(seq, len(self._spans)) - 1, -1, -1)
        out: list[TurnSpan] = []
        for position in positions:
            if self._spans[position].item_count:
                out.append(self._spans[position])
                if len(out) == limit:
                    break
        return out

    async def spans_of_turn(self, turn_id: str) -> list[TurnSpan]:
        return [span for span in self._spans if span.turn_id == turn_id]

    async def read(self, ranges: Ranges) -> list[Record]:
        return await self._reader(ranges)
