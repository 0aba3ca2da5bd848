"""Summaries an older fold made, recomputed from the items (:data:`FOLD_VERSION`).

Each row keeps the state of its thread's summary fold and the version of the fold that made it
(``fold_version``). When the fold learns something new, rows of an older version are folded
again from their items, by three paths that never race: a writer that resumes such a thread
folds it before its first append, a metadata change folds it under the row lock, and a pass in
the background (:func:`refold_pass`, started once a store has migrated the database) folds the
rest in small batches, each row under its lock (``FOR UPDATE SKIP LOCKED``: rows another
transaction holds are taken by a later batch). Listing filters on what the new fold derives
(labels) see a thread once its row is folded again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Final

from threadstore import _json
from threadstore._backends.postgres.db import Connection, Database
from threadstore._backends.postgres.rowio import fold_again
from threadstore._backends.postgres.rows import LISTING_COLUMNS, ThreadMeta, compose, listing_values
from threadstore._rollout.summary import FOLD_VERSION
from threadstore.errors import ThreadStoreError

__all__ = ["BATCH", "refold_batch", "refold_pass"]

_log: Final = logging.getLogger("threadstore.postgres")

#: Threads folded again per transaction by the background pass.
BATCH: Final = 100

_STALE: Final = (
    "SELECT thread_id, overrides, archived_at, created_row, meta_version FROM threadstore.threads "
    "WHERE fold_version < %s ORDER BY thread_id LIMIT %s FOR UPDATE SKIP LOCKED"
)
_SAVE: Final = (
    f"UPDATE threadstore.threads SET summary = %s, {', '.join(f'{c} = %s' for c in LISTING_COLUMNS)} "
    "WHERE thread_id = %s"
)


async def refold_batch(conn: Connection, limit: int = BATCH) -> int:
    """Fold again up to ``limit`` stale rows in one transaction; how many were."""
    async with conn.transaction():
        cur = await conn.execute(_STALE, (FOLD_VERSION, limit))
        rows = await cur.fetchall()
        for tid, overrides, archived_at, created, version in rows:
            thread_id = str(tid)
            summary = await fold_again(conn, thread_id)
            thread = compose(thread_id, summary, ThreadMeta.from_row(overrides, archived_at, created, version))
            values = listing_values(thread, summary)
            await conn.execute(_SAVE, (_json.dumps(summary.to_state()), *values, uuid.UUID(thread_id)))
    return len(rows)


async def refold_pass(db: Database) -> int:
    """Fold every stale row again, batch after batch; how many were. Errors end the pass (the
    next store to open the database starts another)."""
    done = 0
    try:
        while True:
            count = await db.run(refold_batch)
            done += count
            if count < BATCH:
                break
            await asyncio.sleep(0)
    except ThreadStoreError as exc:
        _log.warning("folding old summaries again stopped after %d threads: %s", done, exc)
    if done:
        _log.info("folded %d thread summaries again with fold version %d", done, FOLD_VERSION)
    return done
