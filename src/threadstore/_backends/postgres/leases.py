"""Writer leases: one live writer per thread, across processes and machines.

A lease row ``(thread_id, holder, token, expires_at)`` belongs to one live writer. Taking it
succeeds when there is no row, the row has expired (by the database's clock, so the machines'
clocks do not matter) or the row is the taker's own (a release that failed, or a retried take); the taker gets a new fencing token from a sequence, so tokens never
repeat. Every append renews the lease in the same statement that inserts the items, and only
while the token still matches (:mod:`.writer`): a writer whose lease was taken over after it
expired inserts nothing and gets ``Conflict``. A store renews all its writers' leases in the
background every third of ``lease_ttl`` (one statement for all of them), so a quiet live writer
keeps its thread; a crashed one loses it ``lease_ttl`` seconds after its last renewal.
Shutdown and discard delete the row.
"""

from __future__ import annotations

import uuid
from typing import Any

from threadstore._backends.postgres.db import Connection
from threadstore.errors import Conflict

__all__ = ["holder_of", "release", "renew_all", "take", "take_and_read"]

_TAKE = """
INSERT INTO threadstore.leases AS l (thread_id, holder, token, expires_at)
VALUES (%(tid)s, %(holder)s, nextval('threadstore.lease_tokens'), clock_timestamp() + make_interval(secs => %(ttl)s))
ON CONFLICT (thread_id) DO UPDATE
    SET holder = excluded.holder, token = excluded.token, expires_at = excluded.expires_at
    WHERE l.expires_at < clock_timestamp() OR l.holder = excluded.holder
RETURNING token
"""


async def take(conn: Connection, thread_id: str, holder: str, ttl: float) -> int:
    """Take the lease of ``thread_id`` (inside the caller's transaction); ``Conflict`` when a
    lease that has not expired is held by anyone."""
    cur = await conn.execute(_TAKE, {"tid": uuid.UUID(thread_id), "holder": holder, "ttl": ttl})
    row = await cur.fetchone()
    if row is None:
        raise Conflict(f"thread {thread_id} already has a live writer")
    return int(row[0])


_TAKE_AND_READ = f"""
WITH taken AS ({_TAKE.strip()})
SELECT (SELECT token FROM taken), t.next_seq, t.summary, t.overrides, t.archived_at, t.created_row, t.meta_version
FROM (SELECT 1) AS one LEFT JOIN threadstore.threads t ON t.thread_id = %(tid)s
"""


async def take_and_read(conn: Connection, thread_id: str, holder: str, ttl: float) -> tuple[int, tuple[Any, ...] | None]:
    """:func:`take`, and in the same statement the thread's row (``next_seq, summary, overrides,
    archived_at, created_row, meta_version``; None when the thread does not exist)."""
    cur = await conn.execute(_TAKE_AND_READ, {"tid": uuid.UUID(thread_id), "holder": holder, "ttl": ttl})
    row = await cur.fetchone()
    if row is None or row[0] is None:
        raise Conflict(f"thread {thread_id} already has a live writer")
    return int(row[0]), (tuple(row[1:]) if row[1] is not None else None)


async def release(conn: Connection, thread_id: str, token: int) -> None:
    """Delete the lease if it is still the one with ``token``."""
    await conn.execute(
        "DELETE FROM threadstore.leases WHERE thread_id = %s AND token = %s", (uuid.UUID(thread_id), token)
    )


async def renew_all(conn: Connection, holder: str, tokens: list[int], ttl: float) -> None:
    """Extend the leases ``holder`` still holds with one of ``tokens`` (its live writers')."""
    await conn.execute(
        "UPDATE threadstore.leases SET expires_at = clock_timestamp() + make_interval(secs => %s) "
        "WHERE holder = %s AND token = ANY(%s)",
        (ttl, holder, tokens),
    )


async def holder_of(conn: Connection, thread_id: str) -> str | None:
    """The holder of the thread's unexpired lease, if any."""
    cur = await conn.execute(
        "SELECT holder FROM threadstore.leases WHERE thread_id = %s AND expires_at >= clock_timestamp()",
        (uuid.UUID(thread_id),),
    )
    row = await cur.fetchone()
    return str(row[0]) if row is not None else None
