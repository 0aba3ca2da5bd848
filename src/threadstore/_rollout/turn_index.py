"""The turn index: where each turn of a thread lies in its history, kept up to date as the
history grows, so that a page of turns or items is built from the records of that page only.

A thread's history is a sequence of *records* (its rollout items) numbered by *ordinal* from 0
in replay order. The index holds one :class:`TurnSpan` per turn the thread shows (after
rollback), in order: the ordinals of the records that make it (``first`` up to ``end``,
exclusive, including the record that closed it, which for a turn ended by the next one's
opening record is that record), the builder's counters before it (legacy item ids and implicit
turns given out, items shown) and how many items it shows. Building a turn then takes only its
records: :class:`~.turns.TurnBuilder` started with the span's counters and fed them builds the
turn exactly as a builder fed the whole history would.

Beside the spans, an :class:`IndexHead` keeps what the next records need: how many records were
indexed (``watermark``), the rollback scan's state, where the surviving user turns start (a
``thread_rolled_back`` marker drops the last *n* of them), and the ordinal ranges rollback
and history-edit markers (:mod:`.edits`) removed (they, and the markers themselves, are skipped
wherever records are read).

:class:`TurnIndexer` brings an index up to date with new records. It holds only the spans it
needs (the last one, or all of them after a rollback reaches further back) and asks its caller
for what it lacks through a generator protocol (:class:`ReadRecords`, :class:`LoadSpans`;
:func:`drive` answers them with the backend's async functions), so every backend - in memory,
SQLite beside rollout files, PostgreSQL - runs this one algorithm. Updating costs the new
records plus a re-read of the open (last) turn's records; a rollback costs a re-read of at most
one earlier turn; a pop reads back from the marker to the response items it removes.
"""

from __future__ import annotations

import bisect
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from threadstore._rollout.edits import CLEAR, edit_of
from threadstore._rollout.items import Item
from threadstore._rollout.rollback import TurnScan, rollback_turns
from threadstore._rollout.turns import BuiltTurn, TurnBuilder
from threadstore.errors import Internal

__all__ = [
    "IndexHead",
    "LoadSpans",
    "ReadRecords",
    "Record",
    "TurnIndexer",
    "TurnSpan",
    "build_spans",
    "drive",
    "effective_ranges",
]

Record: TypeAlias = tuple[int, Item, str | None]
"""One record of a history: (ordinal, rollout item, the time its line was written if known)."""

Ranges: TypeAlias = list[tuple[int, int]]

#: How many records a pop reads back at a time while looking for the items it removes.
_READ_BACK = 256


@dataclass(slots=True)
class TurnSpan:
    """One turn of the index (see the module documentation). ``open``: the last turn, which
    nothing has ended yet (its ``end`` is the watermark and its counts may still change)."""

    seq: int
    turn_id: str
    first: int
    end: int
    open: bool
    implicit: bool
    legacy_before: int
    implicit_before: int
    items_before: int
    item_count: int = 0
    legacy_count: int = 0

    @property
    def items_after(self) -> int:
        return self.items_before + self.item_count

    def to_row(self) -> tuple[int, str, int, int, bool, bool, int, int, int, int, int]:
        """The span's fields in declaration order (how the backends store spans)."""
        return (
            self.seq,
            self.turn_id,
            self.first,
            self.end,
            self.open,
            self.implicit,
            self.legacy_before,
            self.implicit_before,
            self.items_before,
            self.item_count,
            self.legacy_count,
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> TurnSpan:
        """A span from its stored fields (in :meth:`to_row` order)."""
        seq, turn_id, first, end, is_open, implicit, legacy, implicit_before, items_before, count, legacy_count = row
        return cls(
            int(seq),
            str(turn_id),
            int(first),
            int(end),
            bool(is_open),
            bool(implicit),
            int(legacy),
            int(implicit_before),
            int(items_before),
            int(count),
            int(legacy_count),
        )

    def counters_after(self) -> tuple[int, int]:
        """(legacy ids, implicit turns) given out once this turn is closed."""
        return self.legacy_before + self.legacy_count, self.implicit_before + (1 if self.implicit else 0)


@dataclass(slots=True)
class IndexHead:
    """What the index knows beside its spans (see the module documentation)."""

    watermark: int = 0
    turns: int = 0
    scan: tuple[int | None, bool, bool] = (None, False, False)
    user_starts: list[int] = field(default_factory=list)
    #: Inclusive ordinal ranges removed by rollback markers (markers included), sorted.
    removed: list[tuple[int, int]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "watermark": self.watermark,
            "turns": self.turns,
            "scan": list(self.scan),
            "user_starts": self.user_starts,
            "removed": [list(r) for r in self.removed],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> IndexHead:
        scan = value["scan"]
        return cls(
            watermark=int(value["watermark"]),
            turns=int(value["turns"]),
            scan=(scan[0], bool(scan[1]), bool(scan[2])),
            user_starts=[int(s) for s in value["user_starts"]],
            removed=[(int(a), int(b)) for a, b in value["removed"]],
        )


@dataclass(frozen=True, slots=True)
class ReadRecords:
    """A request for the records of these half-open ordinal ranges (sorted, disjoint), in
    order."""

    ranges: Ranges


@dataclass(frozen=True, slots=True)
class LoadSpans:
    """A request for the stored spans before position ``before``, in order."""

    before: int


Request: TypeAlias = ReadRecords | LoadSpans
Step: TypeAlias = Generator[Request, Any, None]


def effective_ranges(first: int, end: int, removed: Sequence[tuple[int, int]]) -> Ranges:
    """``[first, end)`` without the removed (inclusive) ranges."""
    out: Ranges = []
    start = first
    for lo, hi in removed:
        if hi < start:
            continue
        if lo >= end:
            break
        if lo > start:
            out.append((start, lo))
        start = max(start, hi + 1)
    if start < end:
        out.append((start, end))
    return out


async def drive(
    step: Step,
    read: Callable[[Ranges], Awaitable[list[Record]]],
    load_spans: Callable[[int], Awaitable[list[TurnSpan]]],
) -> None:
    """Run one step of a :class:`TurnIndexer`, answering its requests."""
    reply: Any = None
    while True:
        try:
            request = step.send(reply)
        except StopIteration:
            return
        reply = await read(request.ranges) if isinstance(request, ReadRecords) else await load_spans(request.before)


class TurnIndexer:
    """Brings an index up to date with new records: :meth:`start`, then :meth:`feed` (as often
    as needed, with the records from ``head.watermark`` on, in order), then :meth:`finish`.
    Each step is a generator for :func:`drive`.

    ``spans`` is the index's last span (or none), or every span (``complete``). Afterwards
    :attr:`spans` holds the spans from :attr:`dirty_from` on as they now are: the caller
    replaces its stored spans from that position with them and stores :attr:`head`."""

    def __init__(self, head: IndexHead, spans: list[TurnSpan], *, complete: bool = False) -> None:
        self.head = head
        self.spans = spans
        self.complete = complete or head.turns == 0
        #: Spans from this position on changed (the caller rewrites them).
        self.dirty_from = head.turns
        if spans and spans[-1].open:
            self.dirty_from = spans[-1].seq
        self._scan = TurnScan()
        self._scan.restore(head.scan)
        self._builder = TurnBuilder()

    # -- steps -----------------------------------------------------------------------------------

    def start(self) -> Step:
        """Restore the builder's state at the watermark (re-reads the open turn's records)."""
        last = self.spans[-1] if self.spans else None
        self._builder = self._builder_after(last)
        if last is not None and last.open:
            records = yield ReadRecords(effective_ranges(last.first, self.head.watermark, self.head.removed))
            self._builder = TurnBuilder(legacy_ids=last.legacy_before, implicit=last.implicit_before)
            for _, item, timestamp in records:
                self._builder.feed(item, timestamp)
            current = self._builder.current
            if current is None or self._builder.closed or current.turn_id != last.turn_id:
                raise Internal("the turn index is out of step with the history")

    def feed(self, records: Iterable[Record]) -> Step:
        """Index the next records (ordinals from the watermark on, without gaps)."""
        for ordinal, item, timestamp in records:
            if ordinal != self.head.watermark:
                raise Internal(f"turn index fed record {ordinal}, expected {self.head.watermark}")
            edit = edit_of(item)
            n = rollback_turns(item) if edit is None else None
            if edit is not None:
                cut = yield from self._edit_cut(ordinal, edit)
                yield from self._truncate(ordinal, cut)
                self._scan.reset()
            elif n is not None:
                yield from self._rollback(ordinal, n)
                self._scan.reset()
            else:
                start = self._scan.step(item, ordinal)
                if start is not None:
                    self.head.user_starts.append(start)
                self._take(ordinal, item, timestamp)
            self.head.watermark = ordinal + 1

    def finish(self) -> None:
        """Settle the open turn's counts and the head (no request)."""
        current = self._builder.current
        if current is not None:
            span = self.spans[-1]
            span.end = self.head.watermark
            span.item_count = current.shown_count()
            span.legacy_count = current.legacy_count()
        self.head.scan = self._scan.state()

    # -- the work --------------------------------------------------------------------------------

    def _builder_after(self, span: TurnSpan | None) -> TurnBuilder:
        if span is None:
            return TurnBuilder()
        legacy, implicit = span.counters_after()
        return TurnBuilder(legacy_ids=legacy, implicit=implicit)

    def _take(self, ordinal: int, item: Item, timestamp: str | None) -> None:
        builder = self._builder
        before = builder.current
        closed_before = len(builder.closed)
        builder.feed(item, timestamp)
        if len(builder.closed) > closed_before:
            self._closed(builder.closed[-1], ordinal)
        current = builder.current
        if current is None:
            return
        if current is not before:
            previous = self.spans[-1] if self.spans else None
            implicit = not current.explicit
            self.spans.append(
                TurnSpan(
                    seq=self.head.turns,
                    turn_id=current.turn_id,
                    first=ordinal,
                    end=ordinal + 1,
                    open=True,
                    implicit=implicit,
                    legacy_before=builder.legacy_ids,
                    implicit_before=builder.implicit - (1 if implicit else 0),
                    items_before=previous.items_after if previous is not None else 0,
                )
            )
            self.head.turns += 1
        else:
            self.spans[-1].end = ordinal + 1

    def _closed(self, built: BuiltTurn, ordinal: int) -> None:
        span = self.spans[-1]
        if not span.open or span.turn_id != built.turn.turn_id:
            raise Internal("the turn index is out of step with the history")
        span.open = False
        span.end = ordinal + 1
        span.item_count = len(built.turn.items)
        span.legacy_count = self._builder.legacy_ids - span.legacy_before
        # Items are counted on close; the builder keeps no closed turn around.
        self._builder.closed.clear()

    def _rollback(self, ordinal: int, n: int) -> Step:
        head = self.head
        if not n or not head.user_starts:
            head.removed.append((ordinal, ordinal))
            return
        keep = max(0, len(head.user_starts) - n)
        yield from self._truncate(ordinal, head.user_starts[keep])

    def _edit_cut(self, ordinal: int, edit: int) -> Generator[Request, Any, int]:
        """Where the history is cut by an edit marker at ``ordinal``: 0 for a clear, else the
        ordinal of the ``edit``-th last visible response record (0 when there are fewer)."""
        if edit == CLEAR:
            return 0
        need, hi = edit, ordinal
        while hi > 0:
            lo = max(0, hi - _READ_BACK)
            records: list[Record] = yield ReadRecords(effective_ranges(lo, hi, self.head.removed))
            for record_ordinal, item, _ in reversed(records):
                if item.get("type") == "response_item":
                    need -= 1
                    if not need:
                        return record_ordinal
            hi = lo
        return 0

    def _truncate(self, ordinal: int, cut: int) -> Step:
        """Remove the records from ``cut`` up to the marker at ``ordinal`` (included), reopening
        the turn the cut falls in."""
        head = self.head
        del head.user_starts[bisect.bisect_left(head.user_starts, cut) :]
        head.removed = [r for r in head.removed if r[1] < cut] + [(cut, ordinal)]
        if not self.complete and (not self.spans or self.spans[0].end > cut):
            before = self.spans[0].seq if self.spans else head.turns
            self.spans = [*(yield LoadSpans(before)), *self.spans]
            self.complete = True
        ends = [span.end for span in self.spans]
        index = bisect.bisect_right(ends, cut)
        if index == len(self.spans):
            return  # no turn reaches the cut: nothing to undo
        reopened = self.spans[index]
        del self.spans[index:]
        head.turns = reopened.seq
        self.dirty_from = min(self.dirty_from, reopened.seq)
        self._builder = self._builder_after(self.spans[-1] if self.spans else None)
        if reopened.first < cut:
            records = yield ReadRecords(effective_ranges(reopened.first, cut, head.removed))
            for record_ordinal, item, timestamp in records:
                self._take(record_ordinal, item, timestamp)


def build_spans(spans: Sequence[TurnSpan], records: Sequence[Record]) -> list[BuiltTurn]:
    """The turns of ``spans`` built from ``records`` (which hold every record of their
    effective ranges, in order; other records are ignored)."""
    ordinals = [record[0] for record in records]
    built: list[BuiltTurn] = []
    for span in spans:
        builder = TurnBuilder(legacy_ids=span.legacy_before, implicit=span.implicit_before)
        lo = bisect.bisect_left(ordinals, span.first)
        hi = bisect.bisect_left(ordinals, span.end)
        for _, item, timestamp in records[lo:hi]:
            builder.feed(item, timestamp)
        turns = builder.finish() if span.open else builder.closed
        if not turns or turns[0].turn.turn_id != span.turn_id:
            raise Internal("the turn index is out of step with the history")
        built.append(turns[0])
    return built
