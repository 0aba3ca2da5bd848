"""The live writer of one PostgreSQL thread.

Contract:

* Lazy: a new thread's row (and its ``session_meta`` item) is inserted by the first persisted
  item or ``persist`` — never earlier. A thread that never got one leaves only its lease row,
  which shutdown or discard deletes.
* One statement per append, committed before ``write`` returns (so ``flush`` has nothing left
  to do): it renews the lease *if the fencing token still matches*, inserts the items (each
  once, with the next sequence numbers), their search texts, and the thread row's new summary
  state and listing columns. If the lease was taken over, nothing is inserted and the append
  raises ``Conflict``; the writer can never interleave items with the new owner.
* The writer is the only one appending while it holds the lease, so it keeps the summary in
  memory and folds new items into it. Metadata changes made by others (overrides, archive) bump
  the row's ``meta_version``; the append statement leaves the listing columns alone when its
  cached version is stale, and the writer then recomposes them under the row lock.
* Retries are detectable: the row update only applies while the row's ``next_seq`` is the one
  the writer expects, so an append retried after a lost connection whose first attempt had in
  fact committed inserts nothing the second time, and the writer recognises that its items are
  there (``next_seq`` moved by exactly their number). Nothing is ever stored twice.
* Idempotency keys are stored with the items they came with (``append_keys``, in the same
  statement), so an append sent again with its key is recognised by any writer of the thread,
  after a restart too: the statement then inserts nothing and the writer stores nothing.
* A history edit (:mod:`threadstore._rollout.edits`) may take earlier lines out of the history:
  in the transaction of the append that carries it, the thread's search texts are computed
  again from its lines (:class:`~threadstore._rollout.texts.SearchTexts`), so a search never
  finds what an edit removed.
"""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from threadstore import _json
from threadstore._backends.postgres import leases
from threadstore._backends.postgres.db import Connection, Database
from threadstore._backends.postgres.rows import LISTING_COLUMNS, ThreadMeta, compose, fold, listing_values
from threadstore._backends.shared.live import LiveWriter
from threadstore._contract.first_line import adopt_first_line
from threadstore._rollout.items import Item, encode_item
from threadstore._rollout.messages import search_texts
from threadstore._rollout.policy import EventPersistenceMode
from threadstore._rollout.summary import ThreadSummary
from threadstore._rollout.texts import SearchTexts, has_edit
from threadstore._time import now_rfc3339, utc_now
from threadstore.errors import Conflict, Internal, ThreadStoreError


class WriterHost(Protocol):
    """What a writer needs of the store that opened it."""

    db: Database
    lease_ttl: float
    max_item_bytes: int

    async def inherited_lines(self, first: Item) -> list[tuple[Item, str | None]]:
        """The parent lines a fork by reference whose first line is ``first`` stands on."""
        ...

__all__ = ["PostgresWriter", "WriterHost"]

_LISTING_PARAMS: Final = ", ".join(f"%(l_{c})s" for c in LISTING_COLUMNS)
_KEEP_FRESH: Final = ", ".join(
    f"{c} = CASE WHEN t.meta_version = %(version)s THEN excluded.{c} ELSE t.{c} END" for c in LISTING_COLUMNS
)

_APPEND: Final = f"""
WITH lease AS (
    UPDATE threadstore.leases SET expires_at = clock_timestamp() + make_interval(secs => %(ttl)s)
    WHERE thread_id = %(tid)s AND token = %(token)s
    RETURNING thread_id
), seen AS (
    SELECT first_seq, digest FROM threadstore.append_keys WHERE thread_id = %(tid)s AND key = %(key)s::text
), thread AS (
    INSERT INTO threadstore.threads AS t (thread_id, created_row, next_seq, summary, {", ".join(LISTING_COLUMNS)})
    SELECT thread_id, %(created)s, %(next_seq)s, %(summary)s, {_LISTING_PARAMS} FROM lease
    WHERE NOT EXISTS (SELECT 1 FROM seen)
    ON CONFLICT (thread_id) DO UPDATE SET next_seq = excluded.next_seq, summary = excluded.summary, {_KEEP_FRESH}
        WHERE t.next_seq = %(first_seq)s
    RETURNING t.meta_version = %(version)s AS fresh
), keyed AS (
    INSERT INTO threadstore.append_keys (thread_id, key, first_seq, digest)
    SELECT %(tid)s, %(key)s::text, %(first_seq)s, %(digest)s::text FROM thread WHERE %(key)s::text IS NOT NULL
), added AS (
    INSERT INTO threadstore.items (thread_id, seq, written_at, body)
    SELECT %(tid)s, s.seq, s.ts, s.body
    FROM thread, unnest(%(seqs)s::bigint[], %(stamps)s::text[], %(bodies)s::bytea[]) AS s(seq, ts, body)
    RETURNING 1
), texts AS (
    INSERT INTO threadstore.texts (thread_id, seq, n, body, folded)
    SELECT %(tid)s, x.seq, x.n, x.body, x.folded
    FROM thread, unnest(%(tseqs)s::bigint[], %(tns)s::int[], %(tbodies)s::bytea[], %(tfolded)s::text[])
        AS x(seq, n, body, folded)
)
SELECT (SELECT count(*) FROM lease), (SELECT fresh FROM thread), (SELECT count(*) FROM added),
    (SELECT first_seq FROM seen), (SELECT digest FROM seen)
"""

_LINES: Final = "SELECT seq, body FROM threadstore.items WHERE thread_id = %s ORDER BY seq"
_DROP_TEXTS: Final = "DELETE FROM threadstore.texts WHERE thread_id = %s"
_ADD_TEXTS: Final = (
    "INSERT INTO threadstore.texts (thread_id, seq, n, body, folded) "
    "SELECT %s, x.seq, x.n, x.body, x.folded FROM unnest(%s::bigint[], %s::int[], %s::bytea[], %s::text[]) "
    "AS x(seq, n, body, folded)"
)

#: The append of a one-step writer (:mod:`.oneshot`): the same statement, releasing the lease
#: (deleting its row, still only while the token matches) instead of renewing it.
_APPEND_RELEASING: Final = _APPEND.replace(
    """    UPDATE threadstore.leases SET expires_at = clock_timestamp() + make_interval(secs => %(ttl)s)
    WHERE thread_id = %(tid)s AND token = %(token)s""",
    "    DELETE FROM threadstore.leases WHERE thread_id = %(tid)s AND token = %(token)s",
)

#: The append of a one-step writer that knows the thread's state from its last append (:mod:`.oneshot`),
#: one statement on its own: the lease taken (the row locked, so a writer taking it meanwhile waits)
#: and left expired on arrival (free for the next writer once this commits); a thread that has no
#: row is only created from its first line.
_APPEND_ONE_SHOT: Final = _APPEND.replace(
    """    UPDATE threadstore.leases SET expires_at = clock_timestamp() + make_interval(secs => %(ttl)s)
    WHERE thread_id = %(tid)s AND token = %(token)s""",
    """    INSERT INTO threadstore.leases AS l (thread_id, holder, token, expires_at)
    VALUES (%(tid)s, %(holder)s, nextval('threadstore.lease_tokens'), clock_timestamp())
    ON CONFLICT (thread_id) DO UPDATE
        SET holder = excluded.holder, token = excluded.token, expires_at = excluded.expires_at
        WHERE l.expires_at < clock_timestamp() OR l.holder = excluded.holder""",
).replace(
    "    WHERE NOT EXISTS (SELECT 1 FROM seen)\n",
    "    WHERE NOT EXISTS (SELECT 1 FROM seen) AND (%(first_seq)s = 0\n"
    "        OR EXISTS (SELECT 1 FROM threadstore.threads WHERE thread_id = %(tid)s))\n",
)

_META_FOR_UPDATE: Final = (
    "SELECT overrides, archived_at, created_row, meta_version, next_seq FROM threadstore.threads "
    "WHERE thread_id = %s FOR UPDATE"
)
_SET_LISTING: Final = (
    f"UPDATE threadstore.threads SET {', '.join(f'{c} = %s' for c in LISTING_COLUMNS)} "
    "WHERE thread_id = %s AND next_seq = %s"
)


def _without_timestamp(item: Item) -> Item:
    return {k: v for k, v in item.items() if k != "timestamp"} if "timestamp" in item else item


class _Batch:
    """One append, encoded: the rows to insert, the summary after them and the append's
    idempotency key (if any). ``inherited`` are the parent lines a new fork by reference stands
    on: folded into the summary, and their texts indexed under the first item's sequence number
    (a ``session_meta`` has no texts of its own)."""

    def __init__(
        self,
        items: list[Item],
        first_seq: int,
        summary: ThreadSummary,
        recent: list[str],
        limit: int,
        inherited: Sequence[tuple[Item, str | None]] = (),
        key: tuple[str, str] | None = None,
    ):
        now = now_rfc3339()
        self.key = key[0] if key is not None else None
        self.digest = key[1] if key is not None else None
        #: The append carries a history edit (the thread's texts are computed again).
        self.edited = has_edit(items)
        #: Set when the key turned out to be stored already (nothing was stored this time).
        self.duplicate = False
        #: The digest stored with the key then (None for keys stored before digests were kept).
        self.recorded: str | None = None
        # The body is the item as stored: its own ``timestamp``, if any, is the line's time.
        self.bodies = [encode_item(_without_timestamp(item), limit) for item in items]  # validates first
        self.seqs = list(range(first_seq, first_seq + len(items)))
        self.stamps: list[str] = []
        self.tseqs: list[int] = []
        self.tns: list[int] = []
        self.tbodies: list[bytes] = []
        self.tfolded: list[str] = []
        self.summary = copy.copy(summary)
        self.recent = list(recent)
        for index, (seq, item) in enumerate(zip(self.seqs, items, strict=True)):
            own = item.get("timestamp")
            stamp = own if isinstance(own, str) and own else now
            self.stamps.append(stamp)
            self.summary.add(item, stamp)
            self._texts(seq, search_texts(item))
            if index == 0:
                for parent_item, parent_stamp in inherited:
                    self.summary.add(parent_item, parent_stamp or stamp)
                self._texts(seq, [t for parent_item, _ in inherited for t in search_texts(parent_item)])

    def _texts(self, seq: int, texts: list[str]) -> None:
        """Index ``texts`` under item ``seq`` (those not among the last few already indexed)."""
        for n, text in enumerate(texts):
            if text in self.recent:
                continue
            self.recent = [*self.recent[-3:], text]
            self.tseqs.append(seq)
            self.tns.append(n)
            self.tbodies.append(text.encode())
            self.tfolded.append(fold(text))


class PostgresWriter(LiveWriter):
    """See the module documentation."""

    def __init__(
        self,
        store: WriterHost,
        thread_id: str,
        mode: EventPersistenceMode,
        token: int,
        *,
        summary: ThreadSummary,
        next_seq: int,
        meta: ThreadMeta,
        session_meta: Item | None = None,
    ) -> None:
        super().__init__(thread_id, mode)
        self.store = store
        self.token = token
        self.summary = summary
        self.next_seq = next_seq
        self.meta = meta
        self._uuid = uuid.UUID(thread_id)
        self._session_meta = session_meta  # owed first item of a new thread
        self._recent: list[str] = []
        #: Set by a one-step writer: its append releases the lease (:mod:`.oneshot`).
        self.release_on_append = False
        #: Set by a one-step writer that holds no lease yet: its append takes one for this holder
        #: and leaves it expired (:mod:`.oneshot`).
        self.one_shot_holder: str | None = None

    @property
    def lines_so_far(self) -> ThreadSummary:
        return self.summary

    @property
    def materialized(self) -> bool:
        return self._session_meta is None

    # -- LiveWriter --------------------------------------------------------------------------

    async def write(self, items: list[Item]) -> None:
        await self._write(items, None)

    async def write_once(self, items: list[Item], idempotency_key: str, digest: str) -> str | None:
        """The key and digest are inserted by the append's own statement; an earlier append with
        the key (from any writer, before any restart) makes it store nothing."""
        return await self._write(items, (idempotency_key, digest))

    async def _write(self, items: list[Item], key: tuple[str, str] | None) -> str | None:
        batch = await self.batch(items, key)
        if batch is None:
            return None
        await self.store.db.run(lambda conn: self.store_batch(conn, batch))
        return self.stored(batch)

    async def batch(self, items: list[Item], key: tuple[str, str] | None) -> _Batch | None:
        """The rows of the next append (None when there is nothing to write); ``key`` is its
        idempotency key and the digest of its items."""
        pending = self._session_meta
        inherited: list[tuple[Item, str | None]] = []
        if pending is not None:
            pending, items = adopt_first_line(pending, items, self.thread_id)
            inherited = await self.store.inherited_lines(pending)
        batch_items = [pending, *items] if pending is not None else items
        if not batch_items:
            return None
        limit = self.store.max_item_bytes
        return _Batch(batch_items, self.next_seq, self.summary, self._recent, limit, inherited, key)

    async def store_batch(self, conn: Connection, batch: _Batch) -> None:
        """Run the append of ``batch`` on ``conn`` (see the module documentation)."""
        if batch.edited:
            await self._append_edited(conn, batch)
        else:
            await self._append(conn, batch)

    def stored(self, batch: _Batch) -> str | None:
        """Take in an append that :meth:`store_batch` committed; when its key showed it was
        stored before (nothing was stored this time), the digest stored with the key then."""
        if batch.duplicate:
            return batch.recorded or batch.digest
        self.summary = batch.summary
        self.next_seq += len(batch.seqs)
        self._recent = batch.recent
        self._session_meta = None
        return None

    async def persist(self) -> None:
        await self.write([])

    async def flush(self) -> None:
        return None  # every append was committed before it returned

    async def close(self) -> None:
        await self._release()

    async def abandon(self) -> None:
        self._session_meta = None
        with contextlib.suppress(ThreadStoreError):
            await self._release()

    async def _release(self) -> None:
        await self.store.db.run(lambda conn: leases.release(conn, self.thread_id, self.token))

    # -- the append statement ----------------------------------------------------------------

    async def _append(self, conn: Connection, batch: _Batch) -> None:
        """Run the append statement (marking the batch a duplicate when its key was stored by an
        earlier append)."""
        thread = compose(self.thread_id, batch.summary, self.meta)
        params: dict[str, Any] = {
            "tid": self._uuid,
            "token": self.token,
            "ttl": self.store.lease_ttl,
            "created": self.meta.created,
            "next_seq": self.next_seq + len(batch.seqs),
            "first_seq": self.next_seq,
            "summary": _json.dumps(batch.summary.to_state()),
            "version": self.meta.version,
            "seqs": batch.seqs,
            "stamps": batch.stamps,
            "bodies": batch.bodies,
            "tseqs": batch.tseqs,
            "tns": batch.tns,
            "tbodies": batch.tbodies,
            "tfolded": batch.tfolded,
            "key": batch.key,
            "digest": batch.digest,
        }
        for column, value in zip(LISTING_COLUMNS, listing_values(thread, batch.summary), strict=True):
            params[f"l_{column}"] = value
        if self.one_shot_holder is not None:
            params["holder"] = self.one_shot_holder
            statement = _APPEND_ONE_SHOT
        else:
            statement = _APPEND_RELEASING if self.release_on_append else _APPEND
        cur = await conn.execute(statement, params)
        row = await cur.fetchone()
        assert row is not None
        leased, fresh, added, seen, recorded = row
        if not leased:
            if self.one_shot_holder is not None:
                raise Conflict(f"thread {self.thread_id} already has a live writer")
            raise Conflict(f"thread {self.thread_id}: this writer's lease was taken over by another writer")
        if seen is not None and seen != self.next_seq:
            batch.duplicate = True  # an earlier append carried this key: its items are stored
            batch.recorded = recorded
            return
        if added == len(batch.seqs):
            if not fresh:
                await self._recompose(conn, batch.summary, self.next_seq + len(batch.seqs))
            return
        if self.release_on_append or self.one_shot_holder is not None:
            # A one-step writer read the row in the statement that waited for the lease: the
            # thread moved meanwhile. Nothing was stored; the caller tries again (a retry of a
            # one-step append is a new transaction that reads the row again).
            raise Conflict(f"thread {self.thread_id} was written meanwhile")
        # Nothing inserted although the lease is ours: an earlier attempt of this very append
        # committed before its connection was lost (the row is already past these items).
        cur = await conn.execute("SELECT next_seq FROM threadstore.threads WHERE thread_id = %s", (self._uuid,))
        found = await cur.fetchone()
        if found is None or found[0] != self.next_seq + len(batch.seqs):
            raise Internal(f"thread {self.thread_id}: the stored history is not where this writer left it")

    async def _append_edited(self, conn: Connection, batch: _Batch) -> None:
        """:meth:`_append` for a batch carrying a history edit, and the thread's search texts
        computed again, in one transaction."""
        async with conn.transaction():
            await self._append(conn, batch)
            if batch.duplicate:
                return
            cur = await conn.execute(_LINES, (self._uuid,))
            texts = SearchTexts()
            for seq, body in await cur.fetchall():
                texts.add(_json.loads(bytes(body)), seq)
            entries = texts.entries
            await conn.execute(_DROP_TEXTS, (self._uuid,))
            await conn.execute(
                _ADD_TEXTS,
                (
                    self._uuid,
                    [e.seq for e in entries],
                    [e.n for e in entries],
                    [e.text.encode() for e in entries],
                    [fold(e.text) for e in entries],
                ),
            )
        batch.recent = texts.recent()

    async def _recompose(self, conn: Connection, summary: ThreadSummary, next_seq: int) -> None:
        """Rewrite the listing columns with fresh overrides (someone changed them meanwhile)."""
        async with conn.transaction():
            cur = await conn.execute(_META_FOR_UPDATE, (self._uuid,))
            row = await cur.fetchone()
            if row is None or row[4] != next_seq:
                return  # deleted, or another writer took over: theirs to keep up to date
            self.meta = ThreadMeta.from_row(row[0], row[1], row[2], row[3])
            values = listing_values(compose(self.thread_id, summary, self.meta), summary)
            await conn.execute(_SET_LISTING, (*values, self._uuid, next_seq))


def new_thread_meta(created: datetime | None = None) -> ThreadMeta:
    """The metadata of a thread that has no row yet."""
    from threadstore._contract.patch import ThreadMetadataPatch

    return ThreadMeta(ThreadMetadataPatch(), None, created or utc_now(), 0)
