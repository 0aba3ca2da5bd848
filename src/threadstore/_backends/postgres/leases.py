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

from threadstore._backends.postgres.db import Connection
from threadstore.errors import Conflict

__all__ = ["holder_of", "release", "renew_all", "take"]

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
