"""``LocalThreadStore``: threads as Codex-compatible rollout files plus a SQLite index.

A home directory is laid out exactly like a Codex home (``sessions/YYYY/MM/DD/rollout-….jsonl``,
``archived_sessions/``, ``session_index.jsonl``), so a store pointed at ``~/.codex`` reads,
lists, searches, renames, archives and deletes the threads Codex wrote, and Codex can resume the
threads this store writes.

The rollout files are the truth. The index is a cache that :mod:`.catalog` brings up to date
before every query (it notices rollouts written by other programs without being told), so
listing and search cost depend on the page size, not on the number of threads. ``reindex()``
rebuilds the index from the files. This module holds the store's operations; :mod:`.writer` the
live writers; :mod:`.rollout`, :mod:`.layout`, :mod:`.names` and :mod:`.lock` the file formats,
paths, the name index and the writer locks.

One live writer per thread, across processes: each writer holds an ``flock`` (:mod:`.lock`); a
second writer — in another process or another store object — gets ``Conflict``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import os
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar, cast

from ... import _json
from ...errors import Conflict, Internal, InvalidRequest, ResourceExhausted, ThreadNotFound
from ...ids import validate_thread_id
from ...items import DEFAULT_MAX_ITEM_BYTES, Item, thread_name_updated
from ...timeutil import format_rfc3339, from_ms, utc_now
from ..live import LiveWriter, LiveWriterStore, initial_session_meta
from ..patch import UNSET, GitInfoPatch, ThreadMetadataPatch
from ..query import decode_cursor, encode_cursor, normalize_cwd, snippet
from ..summary import ThreadSummary
from ..types import (
    CreateThreadParams,
    ListThreadsParams,
    LoadThreadHistoryParams,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    SessionSource,
    StoredThread,
    StoredThreadHistory,
    StoredThreadSearchResult,
    ThreadPage,
    ThreadSearchPage,
    UpdateThreadMetadataParams,
)
from .catalog import Catalog, ReindexReport, mtime_ns, stat_or_none
from .index import TEXT_SHIFT, Index, IndexRow, trigram_query
from .layout import COMPRESSED_SUFFIX, Layout, date_parts, logical_path, thread_id_from_name
from .lock import ThreadLock, is_locked
from .names import append_name, remove_names
from .rollout import read_first_line
from .writer import LocalWriter, os_error

__all__ = ["LocalThreadStore", "ReindexReport"]


_F = TypeVar("_F", bound=Callable[..., Awaitable[Any]])

#: A term in at least this many texts is searched by walking the listing...
_COMMON_TERM_TEXTS: Final = 2000
#: ... for at most this many threads before the trigram index takes over.
_WALK_BUDGET: Final = 1000


def _store_errors(method: _F) -> _F:
    """Let no SQLite or OS exception escape a public operation: they become ``Internal`` (or
    ``ResourceExhausted`` for a full disk). Errors of the store's own kinds pass unchanged."""

    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except sqlite3.Error as exc:
            raise Internal(f"index error: {exc}") from None
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise ResourceExhausted(f"no space left on device: {exc}") from None
            raise Internal(f"{type(exc).__name__}: {exc}") from None

    return cast(_F, wrapper)


class LocalThreadStore(LiveWriterStore):
    """Threads in a Codex-compatible home directory (see the module documentation).

    ``fsync=True`` makes ``flush_thread``, ``persist_thread`` and ``shutdown_thread`` sync the
    data to the disk (power-loss durability); by default they return once the data is in the
    operating system (it survives the process being killed).
    """

    def __init__(
        self,
        home: str | os.PathLike[str],
        *,
        fsync: bool = False,
        default_model_provider: str = "openai",
        collect_git_info: bool = True,
        max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES,
        index_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        super().__init__()
        self.home = Path(os.path.abspath(os.path.expanduser(os.fspath(home))))
        self.fsync = fsync
        self.default_model_provider = default_model_provider
        self.collect_git_info = collect_git_info
        self.max_item_bytes = max_item_bytes
        self.layout = Layout(self.home)
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            self._index = Index(self.layout.index_db)
        except OSError as exc:
            raise os_error("open home", self.home, exc) from None
        self._catalog = Catalog(
            self.layout,
            self._index,
            default_model_provider=default_model_provider,
            live_writer=self._local_writer,
            index_progress=index_progress,
        )

    @property
    def index_progress(self) -> Callable[[int, int], None] | None:
        """Called with (done, total) while new rollouts are being indexed (a first look at a
        large existing home takes a while)."""
        return self._catalog.index_progress

    @index_progress.setter
    def index_progress(self, callback: Callable[[int, int], None] | None) -> None:
        self._catalog.index_progress = callback

    # -- what the writers report ---------------------------------------------------------------

    def _mark_dirty(self, writer: LocalWriter) -> None:
        self._catalog.mark_dirty(writer)

    def _own_dir_change(self, directory: Path, before_ns: int | None, after_ns: int | None) -> None:
        self._catalog.own_dir_change(directory, before_ns, after_ns)

    def _writer_closed(self, writer: LocalWriter) -> None:
        self._catalog.writer_closed(writer)

    def _refresh(self, light: bool = False) -> None:
        self._catalog.refresh(light)

    # -- paths -----------------------------------------------------------------------------------

    def live_rollout_path(self, thread_id: str) -> Path:
        """The rollout file of a live thread (it may not exist yet if nothing was written)."""
        writer = self._live_writer(validate_thread_id(thread_id))
        assert isinstance(writer, LocalWriter)
        return writer.path

    def _local_writer(self, thread_id: str) -> LocalWriter | None:
        writer = self._writers.get(thread_id)
        if isinstance(writer, LocalWriter) and not writer.closed:
            return writer
        return None

    # -- opening writers -------------------------------------------------------------------------

    @_store_errors
    async def _open_new_writer(self, params: CreateThreadParams) -> LiveWriter:
        thread_id = params.thread_id
        lock = ThreadLock.acquire(self.layout.locks, thread_id)
        try:
            # Checked under the lock: another process may have created the thread and let it go
            # (its new rollout shows up in the directory scan).
            self._refresh(light=True)
            if thread_id in self._catalog.dirty or self._index.get(thread_id) is not None:
                raise Conflict(f"thread {thread_id} already exists")
            now = params.created_at or utc_now()
            meta = initial_session_meta(params, format_rfc3339(now))
            path = self.layout.new_rollout_path(now.astimezone(), thread_id)
            collect = params.cwd if self.collect_git_info and params.git_info is None else None
            return LocalWriter(
                self,
                thread_id,
                params.event_persistence_mode,
                path,
                lock,
                ThreadSummary(thread_id),
                meta=meta,
                collect_cwd=collect,
            )
        except BaseException:
            lock.release()
            raise

    @_store_errors
    async def _open_resumed_writer(self, params: ResumeThreadParams) -> LiveWriter:
        thread_id = params.thread_id
        if params.rollout_path is not None:
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
        else:
            row = self._catalog.row_for(thread_id)
            if row is None:
                raise ThreadNotFound(thread_id)
            if row.archived and not params.include_archived:
                raise InvalidRequest(f"thread {thread_id} is archived")
            path = Path(row.path)
        lock = ThreadLock.acquire(self.layout.locks, thread_id)
        try:
            path = self._catalog.plain_rollout(path)
            row = self._catalog.index_file(path, thread_id)
            writer = LocalWriter(self, thread_id, params.event_persistence_mode, path, lock, row.summary)
            writer.open_existing()
            return writer
        except BaseException:
            lock.release()
            raise

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

    # -- reading rollouts ------------------------------------------------------------------------

    # -- the index -------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._catalog.closed:
            raise InvalidRequest("the store is closed")

    @_store_errors
    async def reindex(self, progress: Callable[[int, int], None] | None = None) -> ReindexReport:
        """Rebuild the index from the files (overrides are kept). ``progress(done, total)`` is
        called as rollouts are read."""
        self._check_open()
        return self._catalog.rebuild(progress)

    # -- reads -----------------------------------------------------------------------------------

    def _thread_row(self, thread_id: str, include_archived: bool) -> IndexRow:
        row = self._catalog.row_for(thread_id)
        if row is None:
            raise ThreadNotFound(thread_id)
        if row.archived and not include_archived:
            raise InvalidRequest(f"thread {thread_id} is archived")
        return row

    @_store_errors
    async def load_history(self, params: LoadThreadHistoryParams) -> StoredThreadHistory:
        row = self._thread_row(params.thread_id, params.include_archived)
        return StoredThreadHistory(params.thread_id, self._catalog.read_items(Path(row.path)).items)

    @_store_errors
    async def read_thread(self, params: ReadThreadParams) -> StoredThread:
        row = self._thread_row(params.thread_id, params.include_archived)
        thread = row.thread()
        if params.include_history:
            items = self._catalog.read_items(Path(row.path)).items
            thread = dataclasses.replace(thread, history=StoredThreadHistory(params.thread_id, items))
        return thread

    @_store_errors
    async def read_thread_by_rollout_path(self, params: ReadThreadByRolloutPathParams) -> StoredThread:
        self._check_open()
        path = self._resolve_rollout_path(params.rollout_path)
        resolved = self._catalog.read_items(path)
        first = resolved.items[0] if resolved.items else None
        thread_id = thread_id_from_name(path.name)
        if first is not None and first.get("type") == "session_meta":
            meta_id = (first.get("payload") or {}).get("id")
            if thread_id is None and isinstance(meta_id, str):
                thread_id = meta_id
        if thread_id is None:
            raise InvalidRequest(f"rollout `{params.rollout_path}` has no session metadata")
        summary = ThreadSummary(thread_id)
        summary.add_all(resolved.items, resolved.timestamps)
        thread = self._catalog.compose(thread_id, path, summary, stat_or_none(path))
        if thread.archived_at is not None and not params.include_archived:
            raise InvalidRequest(f"thread {thread_id} is archived")
        if params.include_history:
            thread = dataclasses.replace(thread, history=StoredThreadHistory(thread_id, resolved.items))
        return thread

    @_store_errors
    async def list_threads(self, params: ListThreadsParams) -> ThreadPage:
        decode_cursor(params.cursor)
        if params.cwd_filters is not None and not params.cwd_filters:
            return ThreadPage(items=[], next_cursor=None)
        self._refresh()
        where: list[str] = []
        args: list[Any] = []
        if params.allowed_sources:
            _source_filter(params.allowed_sources, where, args)
        if params.model_providers:
            where.append(f"model_provider IN ({','.join('?' * len(params.model_providers))})")
            args.extend(params.model_providers)
        if params.cwd_filters:
            where.append(f"cwd IN ({','.join('?' * len(params.cwd_filters))})")
            args.extend(normalize_cwd(c) for c in params.cwd_filters)
        if params.search_term:
            where.append("(ts_contains(name, ?) OR ts_contains(preview, ?) OR ts_contains(first_user_message, ?))")
            args.extend([params.search_term] * 3)
        rows, next_cursor = self._catalog.page(params, where, args)
        return ThreadPage(items=[_thread_of(r) for r in rows], next_cursor=next_cursor)

    @_store_errors
    async def search_threads(self, params: SearchThreadsParams) -> ThreadSearchPage:
        decode_cursor(params.cursor)
        self._refresh()
        term = params.search_term.strip()
        # Candidates come in listing order and are confirmed (and their snippet found) by a
        # substring test on their stored texts. A term found in many texts is looked for by
        # walking the listing (the page fills after a few threads); any other through the
        # trigram index (every trigram of the term occurs). Terms under three characters have
        # no trigram: their texts are scanned.
        sources: list[str] = []
        source_args: list[Any] = []
        if params.allowed_sources:
            _source_filter(params.allowed_sources, sources, source_args)
        fts = trigram_query(term)
        found: list[tuple[tuple[Any, ...], str]] | None = None
        if fts is not None and self._index.matches_at_least(fts, _COMMON_TERM_TEXTS):
            found = self._confirmed_page(params, term, sources, source_args, budget=_WALK_BUDGET)
        if found is None:
            if fts is not None:
                where = [f"num IN (SELECT rowid >> {TEXT_SHIFT} FROM texts WHERE texts MATCH ?)", *sources]
                args: list[Any] = [fts, *source_args]
            else:
                where = [f"num IN (SELECT rowid >> {TEXT_SHIFT} FROM texts WHERE ts_contains(body, ?))", *sources]
                args = [term, *source_args]
            found = self._confirmed_page(params, term, where, args, budget=None)
            assert found is not None
        next_cursor = None
        if len(found) > params.page_size:
            last = found[params.page_size - 1][0]
            next_cursor = encode_cursor(from_ms(last[7]), last[1])
        hits = [
            StoredThreadSearchResult(_thread_of(row), snippet(text, term) or text[:144])
            for row, text in found[: params.page_size]
        ]
        return ThreadSearchPage(items=hits, next_cursor=next_cursor)

    def _confirmed_page(
        self,
        params: SearchThreadsParams,
        term: str,
        where: list[str],
        args: list[Any],
        budget: int | None,
    ) -> list[tuple[tuple[Any, ...], str]] | None:
        """Up to one page (plus one) of threads matching ``where`` whose texts contain ``term``,
        with the first such text; None when more than ``budget`` rows were examined first."""
        wanted = params.page_size + 1  # one more than a page tells whether another page exists
        found: list[tuple[tuple[Any, ...], str]] = []
        cursor = params.cursor
        examined = 0
        while len(found) < wanted:

            def query(cursor: str | None = cursor) -> list[tuple[Any, ...]]:
                return self._catalog.page_query(
                    archived=params.archived,
                    sort_key=params.sort_key,
                    descending=params.sort_direction == "desc",
                    cursor=cursor,
                    limit=wanted,
                    where=where,
                    args=args,
                )

            batch = self._catalog.fresh_page(query)
            for row in batch:
                text = self._index.first_text(row[0], term)
                if text is not None:
                    found.append((row, text))
                    if len(found) == wanted:
                        break
            if len(batch) < wanted:
                break
            examined += len(batch)
            if budget is not None and examined >= budget:
                return None
            cursor = encode_cursor(from_ms(batch[-1][7]), batch[-1][1])
        return found

    # -- metadata updates -----------------------------------------------------------------------

    def _ensure_not_live_elsewhere(self, thread_id: str) -> None:
        if self._local_writer(thread_id) is None and is_locked(self.layout.locks, thread_id):
            raise Conflict(f"thread {thread_id} is being written by another process")

    async def _append_to_thread(self, thread_id: str, path: Path, items: list[Item]) -> None:
        """Append metadata lines: through the live writer when there is one, else directly."""
        writer = self._local_writer(thread_id)
        if writer is not None:
            async with writer.lock:
                if not writer.closed:
                    await writer.write(items)
                    return
        self._ensure_not_live_elsewhere(thread_id)
        lock = ThreadLock.acquire(self.layout.locks, thread_id)
        try:
            path = self._catalog.plain_rollout(path)
        except BaseException:
            lock.release()
            raise
        cold = LocalWriter(self, thread_id, "extended", path, lock, ThreadSummary(thread_id), indexed=False)
        try:
            cold.open_existing()
            await cold.write(items)
            if self.fsync:
                await cold.flush()
        finally:
            await cold.abandon()

    @_store_errors
    async def update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        thread_id = params.thread_id
        patch: ThreadMetadataPatch = params.patch
        writer = self._local_writer(thread_id)
        if writer is not None and not writer.materialized:
            await self.persist_thread(thread_id)
        row = self._thread_row(thread_id, params.include_archived)
        path = Path(row.path)
        current = row.thread()
        lines: list[Item] = []
        if patch.name is not UNSET:
            lines.append(thread_name_updated(thread_id, patch.name))
        if patch.memory_mode is not UNSET or isinstance(patch.git_info, GitInfoPatch):
            first = read_first_line(path)
            payload = (first or {}).get("payload")
            if not isinstance(payload, dict) or first is None or first.get("type") != "session_meta":
                raise Internal(f"rollout {path} does not start with session metadata")
            if payload.get("id") != thread_id:
                raise Internal(
                    f"failed to update thread metadata: rollout session metadata id mismatch: expected {thread_id}, "
                    f"found {payload.get('id')}"
                )
            amended = {k: v for k, v in payload.items() if k != "git"}
            mode = patch.memory_mode if patch.memory_mode is not UNSET else current.memory_mode
            amended["memory_mode"] = mode
            if isinstance(patch.git_info, GitInfoPatch):
                git = patch.git_info.apply(current.git_info)
                amended["git"] = git.to_json() if git else {"commit_hash": None, "branch": None, "repository_url": None}
            else:
                amended["git"] = None
            lines.append({"type": "session_meta", "payload": amended})
        if lines:
            await self._append_to_thread(thread_id, path, lines)
        if patch.name is not UNSET:
            append_name(self.layout.session_index, thread_id, patch.name)
        rest = patch.without("name", "memory_mode", "git_info", "title")
        if not rest.is_empty():
            self._catalog.store_overrides(thread_id, Path(row.path), row.summary, rest)
        self._refresh()
        row = self._catalog.index_file(Path(self._catalog.find_path(thread_id) or path), thread_id)
        with self._index.transaction():
            thread = self._catalog.compose(thread_id, Path(row.path), row.summary, stat_or_none(Path(row.path)))
            self._index.update_thread_json(thread)
        return thread

    # -- archive / unarchive / delete -----------------------------------------------------------

    @_store_errors
    async def archive_thread(self, thread_id: str) -> None:
        thread_id = validate_thread_id(thread_id)
        row = self._catalog.row_for(thread_id)
        if row is None:
            raise ThreadNotFound(thread_id)
        if row.archived:
            raise InvalidRequest(f"thread {thread_id} is already archived")
        self._ensure_not_live_elsewhere(thread_id)
        source = self.layout.scoped(Path(row.path), self.layout.sessions, "sessions")
        if thread_id_from_name(source.name) != thread_id:
            raise InvalidRequest(f"rollout path `{source}` does not match thread id {thread_id}")
        target = self.layout.archived / source.name
        self._move(source, target)
        writer = self._local_writer(thread_id)
        if writer is not None:
            writer.path = target
        self._catalog.index_file(target, thread_id)

    @_store_errors
    async def unarchive_thread(self, thread_id: str) -> StoredThread:
        thread_id = validate_thread_id(thread_id)
        row = self._catalog.row_for(thread_id)
        if row is None:
            raise ThreadNotFound(thread_id)
        if not row.archived:
            raise InvalidRequest(f"no archived rollout found for thread id {thread_id}")
        self._ensure_not_live_elsewhere(thread_id)
        source = self.layout.scoped(Path(row.path), self.layout.archived, "archived_sessions")
        parts = date_parts(source.name)
        if parts is None:
            raise InvalidRequest(f"rollout path `{source}` missing filename timestamp")
        target = self.layout.sessions.joinpath(*parts) / source.name
        self._move(source, target)
        with contextlib.suppress(OSError):
            os.utime(target)
        writer = self._local_writer(thread_id)
        if writer is not None:
            writer.path = target
        with self._index.transaction():
            merged = self._index.overrides(thread_id).merge(ThreadMetadataPatch(updated_at=utc_now()))
            self._index.set_overrides(thread_id, merged)
        return self._catalog.index_file(target, thread_id).thread()

    def _move(self, source: Path, target: Path) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                raise Conflict(f"rollout {target} already exists")
            before = {d: mtime_ns(d) for d in (source.parent, target.parent)}
            os.rename(source, target)
            for directory, mtime in before.items():
                self._own_dir_change(directory, mtime, mtime_ns(directory))
            if self.fsync:
                for directory in {source.parent, target.parent}:
                    fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
        except OSError as exc:
            raise os_error("move", source, exc) from None

    @_store_errors
    async def delete_thread(self, thread_id: str) -> None:
        thread_id = validate_thread_id(thread_id)
        self._refresh()
        paths: set[Path] = set()
        row = self._index.get(thread_id)
        if row is not None:
            paths.add(Path(row.path))
        writer = self._local_writer(thread_id)
        if writer is not None:
            paths.add(writer.path)
        for root in (self.layout.sessions, self.layout.archived):
            if root.is_dir() and row is None:
                paths.update(root.rglob(f"*{thread_id}.jsonl"))
                paths.update(root.rglob(f"*{thread_id}.jsonl.zst"))
        paths = {Path(logical_path(p)) for p in paths}
        existing = [p for p in paths if os.path.exists(p) or os.path.exists(f"{p}{COMPRESSED_SUFFIX}")]
        if not existing:
            if writer is not None:
                await self.discard_thread(thread_id)
                return
            raise ThreadNotFound(thread_id)
        self._ensure_not_live_elsewhere(thread_id)
        for path in existing:
            for candidate in (path, Path(f"{path}{COMPRESSED_SUFFIX}")):
                try:
                    os.unlink(candidate)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise os_error("delete", candidate, exc) from None
        remove_names(self.layout.session_index, thread_id)
        self._catalog.dirty.pop(thread_id, None)
        with self._index.transaction():
            self._index.forget_thread(thread_id)
        if writer is not None:
            await self.discard_thread(thread_id)
        self._catalog.dirty.pop(thread_id, None)

    # -- resources -------------------------------------------------------------------------------

    async def close(self) -> None:
        if self._catalog.closed:
            return
        await super().close()
        try:
            self._catalog.take_dirty()
        finally:
            self._catalog.closed = True
            self._index.close()


def _source_filter(allowed: Sequence[SessionSource], where: list[str], args: list[Any]) -> None:
    """Match a thread whose source kind is one of the allowed strings, or whose whole source
    equals one of the allowed objects."""
    kinds = [s for s in allowed if isinstance(s, str)]
    objects = [_json.dumps_str(s) for s in allowed if not isinstance(s, str)]
    parts = []
    if kinds:
        parts.append(f"source_kind IN ({','.join('?' * len(kinds))})")
        args.extend(kinds)
    if objects:
        parts.append(f"source_json IN ({','.join('?' * len(objects))})")
        args.extend(objects)
    where.append(f"({' OR '.join(parts)})")


def _thread_of(row: tuple[Any, ...]) -> StoredThread:
    from ..serialize import thread_from_json

    return thread_from_json(_json.loads(row[6]))
