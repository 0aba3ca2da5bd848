"""One-step appends (:class:`~threadstore._contract.features.OneShotAppends`): a thread nobody
holds is taken, appended to and let go in one step, so a short-lived writer (an Agents SDK
session) pays one commit instead of three (resume, append, shutdown).

Two ways, both guarded by the writer lease, so a thread a live writer holds anywhere is refused
with ``Conflict`` and nothing is stored:

* **Known state** (the store appended to the thread in one step before and remembers its state:
  summary, next sequence number, metadata version): one statement, its own transaction. It
  takes the lease (a writer taking it meanwhile waits for the commit) and leaves it expired on
  arrival, so that it is free the moment the statement commits, and appends only if the thread
  is still where the remembered state says (its ``next_seq``); a thread with no row is only
  created from its first line. Anything else (the lease held, the thread moved or deleted) stores
  nothing, and the careful way follows.
* **Careful**: one transaction of two statements: the lease taken and the thread's row read
  together, then the append that releases the lease. The row read with the lease may be older
  than the lease (the statement waited for another writer's commit): the append then finds the
  thread moved, stores nothing and raises ``Conflict``, and the caller tries again.

The append itself is the live writer's statement (:mod:`.writer`), idempotency keys included.
An expired lease row stays behind for the thread (the next taker overwrites it; deleting the
thread deletes it).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final, NamedTuple, Protocol

from threadstore import _json
from threadstore._backends.postgres import leases
from threadstore._backends.postgres.db import Connection
from threadstore._backends.postgres.rows import ThreadMeta
from threadstore._backends.postgres.writer import PostgresWriter, WriterHost, new_thread_meta
from threadstore._contract.first_line import initial_session_meta
from threadstore._contract.types import AppendThreadItemsParams, CreateThreadParams, key_reused
from threadstore._rollout.summary import ThreadSummary
from threadstore._time import format_rfc3339, utc_now
from threadstore.errors import Conflict

__all__ = ["KnownStates", "OneShotHost", "append_unheld"]

#: How many threads' states a store remembers for one-step appends (the least recent go first).
KNOWN_STATES: Final = 1024


class _Known(NamedTuple):
    summary: ThreadSummary
    next_seq: int
    meta: ThreadMeta


class KnownStates:
    """The state each thread was left in by this store's last one-step append to it."""

    def __init__(self) -> None:
        self._states: OrderedDict[str, _Known] = OrderedDict()

    def take(self, thread_id: str) -> _Known | None:
        return self._states.pop(thread_id, None)

    def keep(self, writer: PostgresWriter) -> None:
        self._states[writer.thread_id] = _Known(writer.summary, writer.next_seq, writer.meta)
        if len(self._states) > KNOWN_STATES:
            self._states.popitem(last=False)


class OneShotHost(WriterHost, Protocol):
    """What a one-step append needs of its store."""

    holder: str
    known_states: KnownStates

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
    known = store.known_states.take(thread_id)
    if known is not None and await _known_way(store, create, params, known):
        return
    await _careful_way(store, create, params)


async def _write(writer: PostgresWriter, conn: Connection, params: AppendThreadItemsParams) -> bool:
    """Append ``params`` through ``writer`` on ``conn``; False when nothing was to be written."""
    persisted = params.persisted
    kept = persisted.for_mode(writer.mode, paginated=writer.paginated)
    key = params.idempotency_key
    batch = await writer.batch(
        kept if persisted.exact else writer.prepared(kept), (key, persisted.digest()) if key is not None else None
    )
    if batch is None:
        return False
    await writer.store_batch(conn, batch)
    recorded = writer.stored(batch)
    if key is not None and recorded is not None and recorded != batch.digest:
        raise key_reused(params.thread_id, key)
    return True


async def _known_way(
    store: OneShotHost, create: CreateThreadParams, params: AppendThreadItemsParams, known: _Known
) -> bool:
    """The one-statement append from a remembered state; False when it stored nothing (the
    careful way follows)."""
    writer = PostgresWriter(
        store,
        create.thread_id,
        create.event_persistence_mode,
        0,
        summary=known.summary,
        next_seq=known.next_seq,
        meta=known.meta,
    )
    writer.one_shot_holder = store.holder
    try:
        wrote = await store.db.run(lambda conn: _write(writer, conn, params))
    except Conflict:
        return False
    if wrote:
        store.known_states.keep(writer)
    return wrote


async def _careful_way(store: OneShotHost, create: CreateThreadParams, params: AppendThreadItemsParams) -> None:
    thread_id = create.thread_id

    async def work(conn: Connection) -> PostgresWriter | None:
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
            if await _write(writer, conn, params):  # (the append releases the lease too)
                return writer
            await leases.release(conn, thread_id, token)
            return None

    writer = await store.db.run(work)
    if writer is not None:
        store.known_states.keep(writer)
