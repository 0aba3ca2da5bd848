"""Reading and writing whole thread rows outside a live writer: a thread's history, and its
metadata (overrides, archive state) under the row lock.

A metadata change locks the row (``FOR UPDATE``), recomposes the thread from the row's summary
and the new metadata (:mod:`.rows`), and stores the listing columns with it while bumping
``meta_version``, so that a live writer elsewhere knows its cached metadata is stale.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

from threadstore import _json
from threadstore._backends.postgres.db import Connection
from threadstore._backends.postgres.rows import LISTING_COLUMNS, ThreadMeta, compose, listing_values
from threadstore._contract.types import StoredThread
from threadstore._rollout.summary import ThreadSummary
from threadstore.errors import ThreadNotFound

__all__ = ["LockedRow", "fold_again", "history_rows", "lock_row", "parse_items", "save_meta"]

_ROW_FOR_UPDATE: Final = (
    "SELECT summary, overrides, archived_at, created_row, meta_version, archived FROM threadstore.threads "
    "WHERE thread_id = %s FOR UPDATE"
)
_SET_META: Final = (
    "UPDATE threadstore.threads SET overrides = %s, archived = %s, archived_at = %s, "
    f"meta_version = meta_version + 1, {', '.join(f'{c} = %s' for c in LISTING_COLUMNS)} WHERE thread_id = %s"
)
_HISTORY: Final = (
    "SELECT t.archived, i.body, i.written_at FROM threadstore.threads t "
    "LEFT JOIN threadstore.items i ON i.thread_id = t.thread_id WHERE t.thread_id = %s ORDER BY i.seq"
)


async def fold_again(conn: Connection, thread_id: str) -> ThreadSummary:
    """A new fold of the thread's stored items (its own lines, as its writers fold them), for a
    row whose summary an older fold made (see :mod:`.refold`)."""
    items, stamps = parse_items(await history_rows(conn, thread_id))
    summary = ThreadSummary(thread_id)
    summary.add_all(items, stamps)
    return summary


async def history_rows(conn: Connection, thread_id: str) -> list[tuple[Any, ...]]:
    """(archived, item body, written at) of each item of a thread in order; one row with a NULL
    body for a thread without items; none for an unknown thread. Plain rows read in binary: cheaper to
    transfer and decode than one server-built value (measured)."""
    async with conn.cursor(binary=True) as cur:
        await cur.execute(_HISTORY, (uuid.UUID(thread_id),))
        return await cur.fetchall()


def parse_items(rows: list[tuple[Any, ...]]) -> tuple[list[Any], list[str | None]]:
    """The items of :func:`history_rows` and the times they were written. Each body is parsed
    on its own (faster than one array of them, measured), exactly (:func:`threadstore._json.loads`)."""
    if not rows or rows[0][1] is None:
        return [], []
    loads = _json.loads
    return [loads(row[1]) for row in rows], [row[2] for row in rows]


@dataclass(slots=True)
class LockedRow:
    """A thread row locked for a metadata change."""

    thread_id: str
    summary: ThreadSummary
    meta: ThreadMeta
    archived: bool


async def lock_row(conn: Connection, thread_id: str) -> LockedRow:
    """Lock a thread's row (inside the caller's transaction); ``ThreadNotFound`` when absent."""
    cur = await conn.execute(_ROW_FOR_UPDATE, (uuid.UUID(thread_id),))
    row = await cur.fetchone()
    if row is None:
        raise ThreadNotFound(thread_id)
    summary = ThreadSummary.from_state(_json.loads(row[0]))
    if summary.stale:
        summary = await fold_again(conn, thread_id)
    return LockedRow(thread_id, summary, ThreadMeta.from_row(row[1], row[2], row[3], row[4]), bool(row[5]))


async def save_meta(conn: Connection, row: LockedRow) -> StoredThread:
    """Store ``row``'s metadata and the listing columns it implies; the composed thread."""
    thread = compose(row.thread_id, row.summary, row.meta)
    values = listing_values(thread, row.summary)
    overrides = _json.dumps(row.meta.overrides.to_json())
    await conn.execute(_SET_META, (overrides, row.archived, row.meta.archived_at, *values, uuid.UUID(row.thread_id)))
    return thread
