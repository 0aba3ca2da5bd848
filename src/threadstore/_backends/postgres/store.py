"""``PostgresThreadStore``: threads in PostgreSQL, shared by many processes and machines.

The live-writer lifecycle is :class:`~threadstore._backends.shared.live.LiveWriterStore`'s; this module
opens writers (taking their leases, :mod:`.leases`) and implements the cold operations. Each
cold operation is a thin public method over a private one of the same name that does the work;
no psycopg exception escapes either (:func:`~.errors.map_error`).

What survives what: an append is committed when ``append_items`` returns (``flush_thread`` has
nothing left to do), so a crash of the writing process loses nothing it was told was stored.
Metadata changes (names, memory mode, git facts, derived-field overrides) are kept as an
overrides patch on the thread's row, never as items, so they need no writer lease and work
while another process writes the thread. Archive, unarchive and delete are refused with
``Conflict`` while another process holds the thread's lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from threadstore import _json
from threadstore._backends.postgres import leases
from threadstore._backends.postgres.db import Connection, Database
from threadstore._backends.postgres.errors import map_error
from threadstore._backends.postgres.forkread import ForkReads
from threadstore._backends.postgres.listing import next_cursor, page_query, where_listing
from threadstore._backends.postgres.oneshot import KnownStates, append_unheld
from threadstore._backends.postgres.pages import open_history
from threadstore._backends.postgres.refold import refold_pass
from threadstore._backends.postgres.rowio import fold_again, history_rows, lock_row, parse_items, save_meta
from threadstore._backends.postgres.rows import ThreadMeta, compose, derived, thread_of
from threadstore._backends.postgres.search import search_page
from threadstore._backends.postgres.tail import read_tail
from threadstore._backends.postgres.writer import PostgresWriter, new_thread_meta
from threadstore._backends.shared.history_pages import PagedHistory
from threadstore._backends.shared.live import LiveWriter, LiveWriterStore
from threadstore._backends.shared.query import decode_cursor
from threadstore._backends.shared.resident_pages import MemoryTurnIndex
from threadstore._contract.first_line import initial_session_meta
from threadstore._contract.listing import ListThreadsParams, SearchThreadsParams, ThreadPage, ThreadSearchPage
from threadstore._contract.paging import ItemPage, ListItemsParams, ListTurnsParams, TurnPage
from threadstore._contract.patch import UNSET, ThreadMetadataPatch, UpdateThreadMetadataParams, reconcile_overrides
from threadstore._contract.types import (
    AppendThreadItemsParams,
    CreateThreadParams,
    LoadThreadHistoryParams,
    ReadThreadParams,
    ResumeThreadParams,
    StoredThread,
    StoredThreadHistory,
)
from threadstore._rollout.items import DEFAULT_MAX_ITEM_BYTES
from threadstore._rollout.summary import ThreadSummary
from threadstore._time import format_rfc3339, utc_now
from threadstore.errors import Conflict, InvalidRequest, ThreadNotFound, ThreadStoreError, Unsupported

__all__ = ["PostgresThreadStore"]

T = TypeVar("T")
P = TypeVar("P", TurnPage, ItemPage)


class PostgresThreadStore(ForkReads, LiveWriterStore):
    """Threads in a PostgreSQL database (see the module and package documentation).

    ``dsn`` is a libpq connection string or URL. ``pool_size`` bounds the connections this store
    opens. ``lease_ttl`` is how long (seconds) a crashed writer's thread stays locked; live
    writers renew their leases every third of it. Database calls that fail transiently (a
    server restart) are retried for ``retry_for`` seconds before an ``Internal`` error.
    ``connect_timeout`` (default: the DSN's ``connect_timeout``, else 10 s) bounds the wait for a
    connection; a database unreachable on first use is reported after it. ``writer_id`` names
    the holder of this store's leases (default: unique to this store object): a store opened
    again with the same ``writer_id`` (the same program, restarted after a crash) takes the
    leases its predecessor left over at once instead of after ``lease_ttl``; two stores in use
    at the same time must never share one.
    """

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 10,
        lease_ttl: float = 30.0,
        retry_for: float = 30.0,
        connect_timeout: float | None = None,
        max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES,
        writer_id: str | None = None,
    ) -> None:
        super().__init__()
        if pool_size < 1:
            raise InvalidRequest("pool_size must be at least 1")
        if lease_ttl <= 0:
            raise InvalidRequest("lease_ttl must be positive")
        self.lease_ttl = float(lease_ttl)
        self.max_item_bytes = max_item_bytes
        self.db = Database(dsn, pool_size=pool_size, retry_for=retry_for, connect_timeout=connect_timeout)
        #: The state of the threads this store last appended to in one step (:mod:`.oneshot`).
        self.known_states = KnownStates()
        #: Who holds this store's leases (unique per store object).
        self.holder = writer_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._renewal: asyncio.Task[None] | None = None
        self._refold: asyncio.Task[int] | None = None
        self.db.on_ready = self._start_refold

    # -- errors ----------------------------------------------------------------------------------

    def _map_error(self, exc: Exception) -> ThreadStoreError:
        return map_error(exc)

    # -- leases ----------------------------------------------------------------------------------

    def live_here(self, thread_id: str) -> bool:
        """Whether this store has a live writer of ``thread_id``."""
        return self._open_writer(thread_id) is not None

    async def append_unheld(self, create: CreateThreadParams, params: AppendThreadItemsParams) -> None:
        """Take the lease, append and release in one transaction (:mod:`.oneshot`)."""
        if self._closed:
            raise InvalidRequest("the store is closed")
        try:
            await append_unheld(self, create, params)
        except ThreadStoreError:
            raise
        except Exception as exc:
            raise self._map_error(exc) from exc

    def _pg_writer(self, thread_id: str) -> PostgresWriter | None:
        writer = self._writers.get(thread_id)
        return writer if isinstance(writer, PostgresWriter) and not writer.closed else None

    def _start_refold(self) -> None:
        """Fold the summaries an older fold made again, in the background (:mod:`.refold`)."""
        self._refold = asyncio.ensure_future(refold_pass(self.db))

    def _start_renewal(self) -> None:
        if self._renewal is None or self._renewal.done():
            self._renewal = asyncio.ensure_future(self._renew_forever())

    async def _renew_forever(self) -> None:
        """Every third of ``lease_ttl``, extend the leases of this store's live writers (one
        statement for all). A failure is not fatal: the next round, or an append, renews."""
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            tokens = [w.token for w in self._writers.values() if isinstance(w, PostgresWriter) and not w.closed]
            if tokens:
                with contextlib.suppress(ThreadStoreError):
                    await self._renew(tokens)

    async def _renew(self, tokens: list[int]) -> None:
        await self.db.run(lambda conn: leases.renew_all(conn, self.holder, tokens, self.lease_ttl))

    async def _check_not_live_elsewhere(self, conn: Connection, thread_id: str) -> None:
        holder = await leases.holder_of(conn, thread_id)
        if holder is not None and holder != self.holder:
            raise Conflict(f"thread {thread_id} is being written by another process")

    # -- opening writers -------------------------------------------------------------------------

    async def _open_new_writer(self, params: CreateThreadParams) -> LiveWriter:
        thread_id = params.thread_id

        async def work(conn: Connection) -> int:
            async with conn.transaction():
                token = await leases.take(conn, thread_id, self.holder, self.lease_ttl)
                cur = await conn.execute(
                    "SELECT 1 FROM threadstore.threads WHERE thread_id = %s", (uuid.UUID(thread_id),)
                )
                if await cur.fetchone() is not None:
                    raise Conflict(f"thread {thread_id} already exists")
                return token

        token = await self.db.run(work)
        now = utc_now()
        meta = initial_session_meta(params, format_rfc3339(now))
        self._start_renewal()
        return PostgresWriter(
            self,
            thread_id,
            params.event_persistence_mode,
            token,
            summary=ThreadSummary(thread_id),
            next_seq=0,
            meta=new_thread_meta(params.created_at or now),
            session_meta=meta,
        )

    async def _open_resumed_writer(self, params: ResumeThreadParams) -> LiveWriter:
        thread_id = params.thread_id
        if params.rollout_path is not None:
            raise Unsupported("resume_thread by rollout_path (the PostgreSQL store has no files)")

        async def work(conn: Connection) -> tuple[int, tuple[Any, ...]]:
            async with conn.transaction():
                token = await leases.take(conn, thread_id, self.holder, self.lease_ttl)
                cur = await conn.execute(
                    "SELECT archived, next_seq, summary, overrides, archived_at, created_row, meta_version "
                    "FROM threadstore.threads WHERE thread_id = %s",
                    (uuid.UUID(thread_id),),
                )
                row = await cur.fetchone()
                if row is None:
                    raise ThreadNotFound(thread_id)
                if row[0] and not params.include_archived:
                    raise InvalidRequest(f"thread {thread_id} is archived")
                return token, row

        token, row = await self.db.run(work)
        self._start_renewal()
        summary = ThreadSummary.from_state(_json.loads(row[2]))
        if summary.stale:
            summary = await self.db.run(lambda conn: fold_again(conn, thread_id))
        return PostgresWriter(
            self,
            thread_id,
            params.event_persistence_mode,
            token,
            summary=summary,
            next_seq=int(row[1]),
            meta=ThreadMeta.from_row(row[3], row[4], row[5], row[6]),
        )

    # -- reads -----------------------------------------------------------------------------------

    async def _load_history(self, params: LoadThreadHistoryParams) -> StoredThreadHistory:
        tail = await read_tail(self.db, params) if params.tail is not None else None
        if tail is not None:
            return tail
        rows = await self.db.run(lambda conn: history_rows(conn, params.thread_id))
        if not rows:
            raise ThreadNotFound(params.thread_id)
        if rows[0][0] and not params.include_archived:
            raise InvalidRequest(f"thread {params.thread_id} is archived")
        items, stamps = parse_items(rows)
        if params.resolve_forks:
            items, stamps = await self._resolved(items, stamps)
        return StoredThreadHistory(params.thread_id, items, stamps)

    async def _read_thread(self, params: ReadThreadParams) -> StoredThread:
        async def work(conn: Connection) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]:
            async with conn.cursor(binary=True) as cur:
                await cur.execute(
                    "SELECT archived, thread_json FROM threadstore.threads WHERE thread_id = %s",
                    (uuid.UUID(params.thread_id),),
                )
                row = await cur.fetchone()
            if row is None or not params.include_history:
                return row, []
            return row, await history_rows(conn, params.thread_id)

        row, history = await self.db.run(work)
        if row is None:
            raise ThreadNotFound(params.thread_id)
        if row[0] and not params.include_archived:
            raise InvalidRequest(f"thread {params.thread_id} is archived")
        thread = thread_of(row[1])
        if params.include_history:
            items, stamps = await self._resolved(*parse_items(history))
            thread = dataclasses.replace(thread, history=StoredThreadHistory(params.thread_id, items, stamps))
        return thread

    async def _list_threads(self, params: ListThreadsParams) -> ThreadPage:
        decode_cursor(params.cursor)
        if params.cwd_filters is not None and not params.cwd_filters:
            return ThreadPage(items=[], next_cursor=None)
        sql, args = page_query(
            where_listing(params),
            archived=params.archived,
            sort_key=params.sort_key,
            descending=params.sort_direction == "desc",
            cursor=params.cursor,
            limit=params.page_size + 1,
        )

        async def work(conn: Connection) -> list[tuple[Any, ...]]:
            cur = await conn.execute(sql, args)
            return await cur.fetchall()

        rows = await self.db.run(work)
        return ThreadPage(
            items=[thread_of(r[1]) for r in rows[: params.page_size]], next_cursor=next_cursor(rows, params.page_size)
        )

    async def _search_threads(self, params: SearchThreadsParams) -> ThreadSearchPage:
        decode_cursor(params.cursor)
        return await self.db.run(lambda conn: search_page(conn, params))

    async def _list_turns(self, params: ListTurnsParams) -> TurnPage:
        return await self._page(params.thread_id, params.include_archived, lambda h: h.list_turns(params))

    async def _list_items(self, params: ListItemsParams) -> ItemPage:
        return await self._page(params.thread_id, params.include_archived, lambda h: h.list_items(params))

    async def _page(self, thread_id: str, include_archived: bool, take: Callable[[PagedHistory], Awaitable[P]]) -> P:
        """One page taken from the thread's turn index (or, for a fork by reference, from the
        history it stands for)."""

        async def work(conn: Connection) -> P | None:
            history = await open_history(conn, thread_id, include_archived)
            return await take(history) if history is not None else None

        page = await self.db.run(work)
        if page is None:
            return await take(await self._fork_pages(thread_id, include_archived))
        return page

    async def _fork_pages(self, thread_id: str, include_archived: bool) -> PagedHistory:
        """Pages of a fork by reference, over the history it stands for (read whole: forks by
        reference are imported threads, their pages are not kept in an index)."""
        history = await self._load_history(LoadThreadHistoryParams(thread_id, include_archived))
        return await MemoryTurnIndex().view(thread_id, history.items)

    # -- metadata and archive state ---------------------------------------------------------------

    async def _update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        writer = self._pg_writer(params.thread_id)
        if writer is not None and not writer.materialized:
            await self.persist_thread(params.thread_id)
        patch: ThreadMetadataPatch = params.patch
        if not patch.only("name", "memory_mode", "git_info").is_empty() and patch.updated_at is UNSET:
            patch = patch.merge(ThreadMetadataPatch(updated_at=utc_now()))

        async def work(conn: Connection) -> StoredThread:
            async with conn.transaction():
                row = await lock_row(conn, params.thread_id)
                if row.archived and not params.include_archived:
                    raise InvalidRequest(f"thread {params.thread_id} is archived")
                base = derived(row.thread_id, row.summary, row.meta)
                overrides = reconcile_overrides(row.meta.overrides, patch, base)
                if overrides == row.meta.overrides:
                    return compose(row.thread_id, row.summary, row.meta)
                row.meta.overrides = overrides
                return await save_meta(conn, row)

        return await self.db.run(work)

    async def _archive_thread(self, thread_id: str) -> None:
        await self._set_archived(thread_id, True)

    async def _unarchive_thread(self, thread_id: str) -> StoredThread:
        return await self._set_archived(thread_id, False)

    async def _set_archived(self, thread_id: str, archived: bool) -> StoredThread:
        """Move a thread into or out of the archive (unarchiving counts as an update)."""

        async def work(conn: Connection) -> StoredThread:
            async with conn.transaction():
                row = await lock_row(conn, thread_id)
                if row.archived == archived:
                    raise InvalidRequest(
                        f"thread {thread_id} is already archived"
                        if archived
                        else f"no archived rollout found for thread id {thread_id}"
                    )
                await self._check_not_live_elsewhere(conn, thread_id)
                now = utc_now()
                row.archived = archived
                row.meta.archived_at = now if archived else None
                if not archived:
                    row.meta.overrides = row.meta.overrides.merge(ThreadMetadataPatch(updated_at=now))
                return await save_meta(conn, row)

        return await self.db.run(work)

    async def _delete_thread(self, thread_id: str) -> None:
        async def work(conn: Connection) -> bool:
            async with conn.transaction():
                await self._check_not_live_elsewhere(conn, thread_id)
                cur = await conn.execute(
                    "DELETE FROM threadstore.threads WHERE thread_id = %s RETURNING 1", (uuid.UUID(thread_id),)
                )
                deleted = await cur.fetchone() is not None
                # An expired lease of another holder goes too; this store's own is released below.
                await conn.execute(
                    "DELETE FROM threadstore.leases WHERE thread_id = %s AND holder <> %s",
                    (uuid.UUID(thread_id), self.holder),
                )
                return deleted

        deleted = await self.db.run(work)
        writer = self._pg_writer(thread_id)
        if writer is not None:
            await self._discard_thread(thread_id)
        elif not deleted:
            raise ThreadNotFound(thread_id)

    # -- resources -------------------------------------------------------------------------------

    async def _close(self) -> None:
        """Shut every live writer down (releasing its lease), then close the pool."""
        try:
            await super()._close()
        finally:
            for task in (self._renewal, self._refold):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            self._renewal = self._refold = None
            await self.db.close()
