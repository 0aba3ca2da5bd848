"""``LocalThreadStore``: threads as Codex-compatible rollout files plus a SQLite index.

A home directory is laid out exactly like a Codex home (``sessions/YYYY/MM/DD/rollout-….jsonl``,
``archived_sessions/``, ``session_index.jsonl``), so a store pointed at ``~/.codex`` reads,
lists, searches, renames, archives and deletes the threads Codex wrote, and Codex can resume the
threads this store writes.

The rollout files are the truth. The index is a cache that :mod:`.catalog` brings up to date
before every query (it notices rollouts written by other programs without being told), so
listing and search cost depend on the page size, not on the number of threads. ``reindex()``
rebuilds the index from the files.

One live writer per thread, across processes: each writer holds an ``flock`` (:mod:`.lock`); a
second writer — in another process or another store object — gets ``Conflict``.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from threadstore import _json
from threadstore._backends.local import moves
from threadstore._backends.local.catalog import Catalog
from threadstore._backends.local.files import is_within, map_os_error, stat_or_none
from threadstore._backends.local.index import Index, IndexRow, PageFilter, PageQuery, is_full
from threadstore._backends.local.keys import KeyLog, keys_path
from threadstore._backends.local.layout import COMPRESSED_SUFFIX, Layout, thread_id_from_name
from threadstore._backends.local.lock import ThreadLock
from threadstore._backends.local.metadata import update_metadata
from threadstore._backends.local.pages import LocalPages
from threadstore._backends.local.rollout import read_first_line, read_rollout, read_tail
from threadstore._backends.local.search import search_threads
from threadstore._backends.local.writer import LocalWriter, WriterOptions
from threadstore._backends.shared.live import LiveWriter, LiveWriterStore
from threadstore._backends.shared.query import decode_cursor, encode_cursor, normalize_cwd
from threadstore._contract.features import ReindexReport
from threadstore._contract.first_line import initial_session_meta
from threadstore._contract.listing import ListThreadsParams, SearchThreadsParams, ThreadPage, ThreadSearchPage
from threadstore._contract.paging import ItemPage, ListItemsParams, ListTurnsParams, TurnPage
from threadstore._contract.patch import UpdateThreadMetadataParams
from threadstore._contract.types import (
    CreateThreadParams,
    LoadThreadHistoryParams,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    SessionSource,
    StoredThread,
    StoredThreadHistory,
)
from threadstore._ids import validate_thread_id
from threadstore._rollout.items import DEFAULT_MAX_ITEM_BYTES
from threadstore._rollout.summary import ThreadSummary
from threadstore._time import format_rfc3339, from_ms, utc_now
from threadstore.errors import Conflict, Internal, InvalidRequest, ResourceExhausted, ThreadNotFound, ThreadStoreError

__all__ = ["LocalThreadStore", "ReindexReport"]


class LocalThreadStore(LiveWriterStore):
    """Threads in a Codex-compatible home directory (see the module documentation).

    ``fsync=True`` makes ``flush_thread``, ``persist_thread`` and ``shutdown_thread`` sync the
    data to the disk (power-loss durability); by default they return once the data is in the
    operating system (it survives the process being killed). ``default_model_provider`` is
    reported for threads whose rollout names none. ``index_progress(done, total)`` is called while
    new rollouts are being indexed (a first look at a large existing home takes a while).
    ``sync_off_loop=True`` runs each sync on a worker thread, so the store's event loop goes on
    meanwhile (what a store run for a server wants: see :func:`open_url`'s ``offload``).
    """

    def __init__(
        self,
        home: str | os.PathLike[str],
        *,
        fsync: bool = False,
        default_model_provider: str = "openai",
        max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES,
        index_progress: Callable[[int, int], None] | None = None,
        sync_off_loop: bool = False,
    ) -> None:
        super().__init__()
        self.home = Path(os.path.abspath(os.path.expanduser(os.fspath(home))))
        self.fsync = fsync
        self.default_model_provider = default_model_provider
        self.max_item_bytes = max_item_bytes
        self.layout = Layout(self.home)
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            index = Index(self.layout.index_db)
        except OSError as exc:
            raise map_os_error(exc) from None
        self._catalog = Catalog(
            self.layout,
            index,
            default_model_provider=default_model_provider,
            live_writer=self._local_writer,
            index_progress=index_progress,
        )
        self._options = WriterOptions(
            fsync=fsync, max_item_bytes=max_item_bytes, home=self.home, sync_off_loop=sync_off_loop
        )
        self._pages = LocalPages(self.layout.private / "pages.sqlite3", self._catalog.find_path)

    @property
    def index_progress(self) -> Callable[[int, int], None] | None:
        return self._catalog.index_progress

    @index_progress.setter
    def index_progress(self, callback: Callable[[int, int], None] | None) -> None:
        self._catalog.index_progress = callback

    def _map_error(self, exc: Exception) -> ThreadStoreError:
        if isinstance(exc, OSError):
            return map_os_error(exc)
        if isinstance(exc, sqlite3.Error):
            if is_full(exc):
                return ResourceExhausted(f"index {self.layout.index_db} is full: {exc}")
            return Internal(f"index error: {exc}")
        return super()._map_error(exc)

    # -- live writers ----------------------------------------------------------------------------

    def live_rollout_path(self, thread_id: str) -> Path:
        """The rollout file of a live thread (it may not exist yet if nothing was written)."""
        writer = self._live_writer(validate_thread_id(thread_id))
        assert isinstance(writer, LocalWriter)
        return writer.path

    def _local_writer(self, thread_id: str) -> LocalWriter | None:
        writer = self._open_writer(thread_id)
        return writer if isinstance(writer, LocalWriter) else None

    async def _open_new_writer(self, params: CreateThreadParams) -> LiveWriter:
        thread_id = params.thread_id
        lock = ThreadLock.acquire(self.layout.locks, thread_id)
        try:
            # Checked under the lock: another process may have created the thread and let it go
            # (its new rollout shows up in the directory scan).
            self._catalog.refresh(light=True)
            if await self._catalog.exists(thread_id):
                raise Conflict(f"thread {thread_id} already exists")
            now = params.created_at or utc_now()
            meta = initial_session_meta(params, format_rfc3339(now))
            path = self.layout.new_rollout_path(now.astimezone(), thread_id)
            summary = ThreadSummary(thread_id)
            return LocalWriter(
                thread_id,
                params.event_persistence_mode,
                path,
                lock,
                summary,
                self._options,
                self._catalog,
                meta=meta,
                keys=self._keys(thread_id),
            )
        except BaseException:
            lock.release()
            raise

    async def _open_resumed_writer(self, params: ResumeThreadParams) -> LiveWriter:
        thread_id = params.thread_id
        # The lock first: what is found under it stays true (a delete or an archive in another
        # process holds the same lock across its checks and its file changes).
        lock = ThreadLock.acquire(self.layout.locks, thread_id)
        try:
            path = await self._resumable_path(params)
            path = self._catalog.plain_rollout(path)
            row = self._catalog.index_file(path, thread_id)
            mode = params.event_persistence_mode
            # A rollout the caller named may lie outside the home; one found here may not.
            confined = params.rollout_path is None or is_within(path, self.home)
            writer = LocalWriter(
                thread_id,
                mode,
                path,
                lock,
                row.summary,
                self._options,
                self._catalog,
                confined=confined,
                keys=self._keys(thread_id),
            )
            writer.open_existing()
            return writer
        except BaseException:
            lock.release()
            raise

    def _keys(self, thread_id: str) -> KeyLog:
        return KeyLog(keys_path(self.layout.private, thread_id))

    async def _resumable_path(self, params: ResumeThreadParams) -> Path:
        thread_id = params.thread_id
        if params.rollout_path is None:
            return Path((await self._thread_row(thread_id, params.include_archived)).path)
        path = self._resolve_rollout_path(params.rollout_path)
        file_id = thread_id_from_name(path.name)
        if file_id is not None and file_id != thread_id:
            raise InvalidRequest(f"rollout path `{path}` belongs to thread {file_id}, not {thread_id}")
        if not params.include_archived and self.layout.is_archived(path):
            raise InvalidRequest(f"thread {thread_id} is archived")
        # Appends go to this file: it must be a rollout of this very thread, not any file.
        first = read_first_line(path)
        meta = first.get("payload") if first is not None and first.get("type") == "session_meta" else None
        if not isinstance(meta, dict) or meta.get("id") != thread_id:
            raise InvalidRequest(f"rollout path `{path}` is not a rollout of thread {thread_id}")
        return path

    def _resolve_rollout_path(self, rollout_path: str) -> Path:
        path = self.layout.resolve(rollout_path)
        try:
            compressed = Path(f"{path}{COMPRESSED_SUFFIX}")
            if not path.exists() and str(path).endswith(".jsonl") and compressed.is_file():
                path = compressed  # the logical path of a compressed rollout
            if path.is_dir():
                raise InvalidRequest(f"failed to resolve rollout path `{rollout_path}`: path is a directory")
            if not path.exists():
                raise InvalidRequest(f"failed to resolve rollout path `{rollout_path}`: file does not exist")
            if not path.is_file():
                raise InvalidRequest(f"failed to resolve rollout path `{rollout_path}`: path is not a file")
        except OSError as exc:  # a name too long, a permission denied on the way
            raise InvalidRequest(f"failed to resolve rollout path `{rollout_path}`: {exc.strerror}") from None
        return Path(os.path.realpath(path))

    # -- the index -------------------------------------------------------------------------------

    async def reindex(self, progress: Callable[[int, int], None] | None = None) -> ReindexReport:
        """Rebuild the index from the files (metadata overrides are kept). ``progress(done,
        total)`` is called as rollouts are read."""
        if self._closed:
            raise InvalidRequest("the store is closed")
        try:
            self._pages.reset()
            return await self._catalog.rebuild(progress)
        except ThreadStoreError:
            raise
        except Exception as exc:
            raise self._map_error(exc) from exc

    # -- reads -----------------------------------------------------------------------------------

    async def _thread_row(self, thread_id: str, include_archived: bool) -> IndexRow:
        row = await self._catalog.row_for(thread_id)
        if row is None:
            raise ThreadNotFound(thread_id)
        if row.archived and not include_archived:
            raise InvalidRequest(f"thread {thread_id} is archived")
        return row

    async def _load_history(self, params: LoadThreadHistoryParams) -> StoredThreadHistory:
        quick = self._indexed_tail(params) if params.tail else None
        if quick is not None:
            return quick
        row = await self._thread_row(params.thread_id, params.include_archived)
        path = Path(row.path)
        tail = read_tail(path, params.tail, resolve_forks=params.resolve_forks) if params.tail else None
        if tail is not None:
            return StoredThreadHistory(params.thread_id, tail.items, tail.timestamps)
        chunk = self._catalog.read_items(path) if params.resolve_forks else read_rollout(path)
        return StoredThreadHistory(params.thread_id, chunk.items, chunk.timestamps)

    def _indexed_tail(self, params: LoadThreadHistoryParams) -> StoredThreadHistory | None:
        """A tail read straight from the rollout the index names, without bringing the index up
        to date first: the lines come from the file itself, so only its place matters. None (the
        careful path) when the index does not know the thread, the file is not there any more
        (moved or deleted elsewhere) or it is archived and not asked for."""
        assert params.tail is not None
        found = self._catalog.index.location(params.thread_id)
        if found is None:
            return None
        path = Path(found[0])
        if not params.include_archived and self.layout.is_archived(path):
            return None
        try:
            tail = read_tail(path, params.tail, resolve_forks=params.resolve_forks)
        except InvalidRequest:
            return None
        return StoredThreadHistory(params.thread_id, tail.items, tail.timestamps) if tail is not None else None

    async def _read_thread(self, params: ReadThreadParams) -> StoredThread:
        row = await self._thread_row(params.thread_id, params.include_archived)
        thread = row.thread()
        if params.include_history:
            chunk = self._catalog.read_items(Path(row.path))
            history = StoredThreadHistory(params.thread_id, chunk.items, chunk.timestamps)
            thread = dataclasses.replace(thread, history=history)
        return thread

    async def _read_thread_by_rollout_path(self, params: ReadThreadByRolloutPathParams) -> StoredThread:
        path = self._resolve_rollout_path(params.rollout_path)
        chunk = self._catalog.read_items(path)
        first = chunk.items[0] if chunk.items else None
        thread_id = thread_id_from_name(path.name)
        if thread_id is None and first is not None and first.get("type") == "session_meta":
            meta_id = (first.get("payload") or {}).get("id")
            thread_id = meta_id if isinstance(meta_id, str) else None
        if thread_id is None:
            raise InvalidRequest(f"rollout `{params.rollout_path}` has no session metadata")
        summary = ThreadSummary(thread_id)
        summary.add_all(chunk.items, chunk.timestamps)
        thread = self._catalog.compose(thread_id, path, summary, stat_or_none(path))
        if thread.archived_at is not None and not params.include_archived:
            raise InvalidRequest(f"thread {thread_id} is archived")
        if params.include_history:
            history = StoredThreadHistory(thread_id, chunk.items, chunk.timestamps)
            thread = dataclasses.replace(thread, history=history)
        return thread

    async def _list_threads(self, params: ListThreadsParams) -> ThreadPage:
        after = decode_cursor(params.cursor)
        if params.cwd_filters is not None and not params.cwd_filters:
            return ThreadPage(items=[], next_cursor=None)
        self._catalog.refresh()
        where = dataclasses.replace(
            _source_filter(params.allowed_sources, params.labels),
            providers=tuple(params.model_providers or ()),
            cwds=tuple(normalize_cwd(c) for c in params.cwd_filters or ()),
            title_term=params.search_term or None,
        )
        query = PageQuery(
            archived=params.archived,
            sort_key=params.sort_key,
            descending=params.sort_direction == "desc",
            after=after,
            limit=params.page_size + 1,
            where=where,
        )
        await self._catalog.settle(query)
        rows = self._catalog.page(query)
        next_cursor = None
        if len(rows) > params.page_size:
            last = rows[params.page_size - 1]
            next_cursor = encode_cursor(from_ms(last.sort_ms), last.thread_id)
        return ThreadPage(items=[row.thread() for row in rows[: params.page_size]], next_cursor=next_cursor)

    async def _list_turns(self, params: ListTurnsParams) -> TurnPage:
        row = await self._thread_row(params.thread_id, params.include_archived)
        return await (await self._pages.history(params.thread_id, Path(row.path))).list_turns(params)

    async def _list_items(self, params: ListItemsParams) -> ItemPage:
        row = await self._thread_row(params.thread_id, params.include_archived)
        return await (await self._pages.history(params.thread_id, Path(row.path))).list_items(params)

    async def _search_threads(self, params: SearchThreadsParams) -> ThreadSearchPage:
        decode_cursor(params.cursor)
        self._catalog.refresh()
        await self._catalog.settle(archived=params.archived)
        return search_threads(self._catalog, params, _source_filter(params.allowed_sources, params.labels))

    # -- metadata, archive, delete --------------------------------------------------------------

    async def _update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        writer = self._local_writer(params.thread_id)
        if writer is not None and not writer.materialized:
            await self._persist_thread(params.thread_id)
        row = await self._thread_row(params.thread_id, params.include_archived)
        return await update_metadata(self._context(), row, params.patch)

    async def _archive_thread(self, thread_id: str) -> None:
        await moves.archive(self._context(), thread_id)

    async def _unarchive_thread(self, thread_id: str) -> StoredThread:
        return await moves.unarchive(self._context(), thread_id)

    async def _delete_thread(self, thread_id: str) -> None:
        await moves.delete(self._context(), thread_id, self._discard_thread)
        self._pages.forget(thread_id)

    def _context(self) -> moves.HomeContext:
        return moves.HomeContext(self.layout, self._catalog, self._options, self._local_writer)

    # -- resources -------------------------------------------------------------------------------

    async def _close(self) -> None:
        try:
            await super()._close()
        finally:
            try:
                self._catalog.close()
                self._catalog.take_dirty()
            finally:
                self._catalog.stopped = True
                self._catalog.index.close()
                self._pages.close()


def _source_filter(allowed: Sequence[SessionSource], labels: Mapping[str, str] | None) -> PageFilter:
    """Threads whose source kind is one of the allowed strings, or whose whole source equals one
    of the allowed objects (every source when none is given), carrying every label given."""
    return PageFilter(
        source_kinds=tuple(s for s in allowed if isinstance(s, str)),
        source_jsons=tuple(_json.dumps_str(s) for s in allowed if not isinstance(s, str)),
        labels=tuple(sorted((labels or {}).items())),
    )
