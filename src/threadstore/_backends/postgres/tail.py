"""The last lines of a thread, read from the end of its items (``ORDER BY seq DESC LIMIT n`` on
the items' primary key): the cost is that of the lines asked for, whatever the thread's length."""

from __future__ import annotations

import uuid
from typing import Any, Final

from threadstore._backends.postgres.db import Connection, Database
from threadstore._backends.postgres.rowio import parse_items
from threadstore._contract.types import LoadThreadHistoryParams, StoredThreadHistory
from threadstore._rollout import forks
from threadstore.errors import InvalidRequest, ThreadNotFound

__all__ = ["read_tail", "tail_rows"]

_TAIL: Final = (
    "SELECT t.archived, i.body, i.written_at, i.seq FROM threadstore.threads t "
    "LEFT JOIN LATERAL (SELECT body, written_at, seq FROM threadstore.items "
    "WHERE thread_id = t.thread_id ORDER BY seq DESC LIMIT %s) i ON true WHERE t.thread_id = %s"
)


async def tail_rows(conn: Connection, thread_id: str, count: int) -> list[tuple[Any, ...]]:
    """(archived, item body, written at, seq) of the thread's last ``count`` items, in order;
    one row with a NULL body for a thread without items; none for an unknown thread (the rows
    of :func:`~.rowio.history_rows`, with each item's ``seq``)."""
    async with conn.cursor(binary=True) as cur:
        await cur.execute(_TAIL, (count, uuid.UUID(thread_id)))
        rows = await cur.fetchall()
    rows.reverse()
    return rows


async def read_tail(db: Database, params: LoadThreadHistoryParams) -> StoredThreadHistory | None:
    """The history ``params`` asks for, when it asks for a tail that the thread's own lines
    answer; None when the whole history must be read (a fork by reference whose own lines all
    fit in the tail). Raises as ``load_history``."""
    count = params.tail
    assert count is not None
    rows = await db.run(lambda conn: tail_rows(conn, params.thread_id, count))
    if not rows:
        raise ThreadNotFound(params.thread_id)
    if rows[0][0] and not params.include_archived:
        raise InvalidRequest(f"thread {params.thread_id} is archived")
    items, stamps = parse_items(rows)
    whole = not items or rows[0][3] == 0
    if whole and params.resolve_forks and forks.fork_reference(items) is not None:
        return None
    return StoredThreadHistory(params.thread_id, items, stamps)
