"""One-step appends (:class:`~threadstore._contract.features.OneShotAppends`): the writer lease
taken, the items stored and the lease released in one transaction of two statements (the lease
taken and the thread's row read together; the append that releases the lease), so a short-lived
writer pays one commit and two statements instead of three commits (resume, append, shutdown). The lease still guards it: a thread held
by a live writer anywhere is refused with ``Conflict`` and nothing is stored; the append itself
is the live writer's statement (:mod:`.writer`), idempotency keys included. The row read with
the lease may be older than the lease (the statement waited for another writer's commit): the
append then finds the thread moved, stores nothing and raises ``Conflict``, and the caller tries
again."""

from __future__ import annotations

from typing import Protocol

from threadstore import _json
from threadstore._backends.postgres import leases
from threadstore._backends.postgres.db import Connection
from threadstore._backends.postgres.rows import ThreadMeta
from threadstore._backends.postgres.writer import PostgresWriter, WriterHost, new_thread_meta
from threadstore._contract.first_line import initial_session_meta
from threadstore._contract.types import AppendThreadItemsParams, CreateThreadParams
from threadstore._rollout.summary import ThreadSummary
from threadstore._time import format_rfc3339, utc_now
from threadstore.errors import Conflict

__all__ = ["OneShotHost", "append_unheld"]


class OneShotHost(WriterHost, Protocol):
    """What a one-step append needs of its store."""

    holder: str

    def live_here(self, thread_id: str) -> bool:
        """Whether the store has a live writer of the thread."""
        ...



async def append_unheld(store: OneShotHost, create: CreateThreadParams, params: AppendThreadItemsParams) -> None:
    """See the module documentation (and ``OneShotAppends.append_unheld``)."""
    thread_id = create.thread_id
    if params.thread_id != thread_id:
        raise ValueError("the append and the creation name different threads")
    if store.live_here(thread_id):
        raise Conflict(f"thread {thread_id} already has a live writer")

    async def work(conn: Connection) -> None:
        async with conn.transaction():
            token, row = await leases.take_and_read(conn, thread_id, store.holder, store.lease_ttl)
            mode = create.event_persistence_mode
            if row is None:
                now = utc_now()
                writer = PostgresWriter(
                    store,
                    thread_id,
                    mode,
                    token,
                    summary=ThreadSummary(thread_id),
                    next_seq=0,
                    meta=new_thread_meta(create.created_at or now),
                    session_meta=initial_session_meta(create, format_rfc3339(now)),
                )
            else:
                writer = PostgresWriter(
                    store,
                    thread_id,
                    mode,
                    token,
                    summary=ThreadSummary.from_state(_json.loads(row[1])),
                    next_seq=int(row[0]),
                    meta=ThreadMeta.from_row(row[2], row[3], row[4], row[5]),
                )
            writer.release_on_append = True
            persisted = params.persisted
            kept = persisted.for_mode(mode, paginated=writer.paginated)
            batch = await writer.batch(kept if persisted.exact else writer.prepared(kept), params.idempotency_key)
            if batch is not None:
                await writer.store_batch(conn, batch)  # releases the lease too
            else:
                await leases.release(conn, thread_id, token)

    await store.db.run(work)
