"""Paginated history of the PostgreSQL store: each thread's turn index in ``turn_heads`` and
``turns`` (schema version 2), next to its items.

A page request brings the thread's index up to date with its items first, in a transaction that
locks only the index's head row (appends never wait for it): the items from the head's
watermark on (read in batches) plus the open turn's items again, as
:class:`~threadstore._rollout.turn_index.TurnIndexer` asks. Items are append-only and numbered by
``seq``, so the records of any turn are one range query away; the page is then served by
:class:`~threadstore._backends.shared.history_pages.PagedHistory` from the same connection.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from threadstore import _json
from threadstore._backends.postgres.db import Connection
from threadstore._backends.postgres.rowio import parse_items
from threadstore._backends.shared.history_pages import PagedHistory
from threadstore._rollout import forks
from threadstore._rollout.turn_index import IndexHead, Ranges, Record, TurnIndexer, TurnSpan, drive
from threadstore.errors import InvalidRequest, ThreadNotFound

__all__ = ["open_history"]

#: Items read at a time while the index catches up.
_BATCH: Final = 2000

_COLUMNS: Final = (
    "seq, turn_id, first_seq, end_seq, open, implicit, legacy_before, implicit_before, items_before, "
    "item_count, legacy_count"
)
_INSERT: Final = f"""
INSERT INTO threadstore.turns (thread_id, {_COLUMNS})
SELECT %s, * FROM unnest(%s::int[], %s::text[], %s::bigint[], %s::bigint[], %s::bool[], %s::bool[], %s::bigint[],
    %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])
"""
_RECORDS: Final = """
SELECT i.seq, i.written_at, i.body FROM threadstore.items i
JOIN unnest(%s::bigint[], %s::bigint[]) AS r(lo, hi) ON i.seq >= r.lo AND i.seq < r.hi
WHERE i.thread_id = %s ORDER BY i.seq
"""


_HEAD_ROW: Final = (
    "SELECT t.archived, t.next_seq, i.body FROM threadstore.threads t "
    "LEFT JOIN threadstore.items i ON i.thread_id = t.thread_id AND i.seq = 0 WHERE t.thread_id = %s"
)


async def open_history(conn: Connection, thread_id: str, include_archived: bool) -> PagedHistory | None:
    """The thread's index, up to date with its items (``ThreadNotFound`` / ``InvalidRequest``
    for an unknown or, unless allowed, archived thread). None for a fork by reference: its
    pages span its parent's rows too, which this index does not cover (the caller pages the
    history it stands for instead)."""
    tid = uuid.UUID(thread_id)
    cur = await conn.execute(_HEAD_ROW, (tid,))
    row = await cur.fetchone()
    if row is None:
        raise ThreadNotFound(thread_id)
    if row[0] and not include_archived:
        raise InvalidRequest(f"thread {thread_id} is archived")
    if row[2] is not None and b"forked_from_ordinal_exclusive" in bytes(row[2]):
        first, _ = parse_items([(None, row[2], None)])
        if forks.fork_reference(first) is not None:
            return None
    history = _PostgresHistory(conn, thread_id, IndexHead())
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO threadstore.turn_heads (thread_id, head) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (tid, _json.dumps(IndexHead().to_json())),
        )
        cur = await conn.execute("SELECT head FROM threadstore.turn_heads WHERE thread_id = %s FOR UPDATE", (tid,))
        found = await cur.fetchone()
        if found is None:  # the thread was deleted meanwhile
            raise ThreadNotFound(thread_id)
        history.use(IndexHead.from_json(_json.loads(found[0])))
        if history.head.watermark < int(row[1]):
            await history.update(int(row[1]))
    return history


class _PostgresHistory(PagedHistory):
    def __init__(self, conn: Connection, thread_id: str, head: IndexHead) -> None:
        super().__init__(thread_id, head.turns, head.removed)
        self.conn = conn
        self.tid = uuid.UUID(thread_id)
        self.head = head

    def use(self, head: IndexHead) -> None:
        self.head, self.turns, self.removed = head, head.turns, list(head.removed)

    async def _fetch_spans(self, sql: str, args: tuple[Any, ...]) -> list[TurnSpan]:
        cur = await self.conn.execute(f"SELECT {_COLUMNS} FROM threadstore.turns WHERE thread_id = %s {sql}", args)
        return [TurnSpan.from_row(row) for row in await cur.fetchall()]

    async def update(self, next_seq: int) -> None:
        """Index the items from the watermark up to ``next_seq`` (inside the caller's
        transaction, holding the head row)."""
        last = await self._fetch_spans("ORDER BY seq DESC LIMIT 1", (self.tid,))
        indexer = TurnIndexer(self.head, last)

        async def load(before: int) -> list[TurnSpan]:
            return await self.spans(0, before)

        await drive(indexer.start(), self.read, load)
        while self.head.watermark < next_seq:
            start = self.head.watermark
            batch = await self.read([(start, min(next_seq, start + _BATCH))])
            await drive(indexer.feed(batch), self.read, load)
        indexer.finish()
        dirty = [s for s in indexer.spans if s.seq >= indexer.dirty_from]
        await self.conn.execute(
            "DELETE FROM threadstore.turns WHERE thread_id = %s AND seq >= %s", (self.tid, indexer.dirty_from)
        )
        if dirty:
            columns = zip(*(s.to_row() for s in dirty), strict=True)
            await self.conn.execute(_INSERT, (self.tid, *(list(c) for c in columns)))
        await self.conn.execute(
            "UPDATE threadstore.turn_heads SET head = %s WHERE thread_id = %s",
            (_json.dumps(indexer.head.to_json()), self.tid),
        )
        self.use(indexer.head)

    # -- PagedHistory ----------------------------------------------------------------------------

    async def spans(self, lo: int, hi: int) -> list[TurnSpan]:
        return await self._fetch_spans("AND seq >= %s AND seq < %s ORDER BY seq", (self.tid, lo, hi))

    async def span_with_item(self, ordinal: int) -> TurnSpan | None:
        # The last span starting at or before the ordinal holds it, if any span does.
        found = await self._fetch_spans(
            "AND items_before <= %s ORDER BY items_before DESC, seq DESC LIMIT 1", (self.tid, ordinal)
        )
        return found[0] if found and ordinal < found[0].items_after else None

    async def spans_with_items(self, seq: int, ascending: bool, limit: int) -> list[TurnSpan]:
        if ascending:
            return await self._fetch_spans(
                "AND seq > %s AND item_count > 0 ORDER BY seq LIMIT %s", (self.tid, seq, limit)
            )
        return await self._fetch_spans(
            "AND seq < %s AND item_count > 0 ORDER BY seq DESC LIMIT %s", (self.tid, seq, limit)
        )

    async def spans_of_turn(self, turn_id: str) -> list[TurnSpan]:
        return await self._fetch_spans("AND turn_id = %s ORDER BY seq", (self.tid, turn_id))

    async def read(self, ranges: Ranges) -> list[Record]:
        if not ranges:
            return []
        async with self.conn.cursor(binary=True) as cur:
            await cur.execute(_RECORDS, ([lo for lo, _ in ranges], [hi for _, hi in ranges], self.tid))
            rows = await cur.fetchall()
        bodies, _ = parse_items([(None, row[2], row[1]) for row in rows])
        return [(int(row[0]), item, row[1]) for row, item in zip(rows, bodies, strict=True)]
