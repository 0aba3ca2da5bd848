"""``LocalThreadStore``: threads as Codex-compatible rollout files plus a SQLite index.

A home directory is laid out exactly like a Codex home (``sessions/YYYY/MM/DD/rollout-….jsonl``,
``archived_sessions/``, ``session_index.jsonl``), so a store pointed at ``~/.codex`` reads,
lists, searches, renames, archives and deletes the threads Codex wrote, and Codex can resume the
threads this store writes.

The rollout files are the truth. The index (:mod:`.index`) is a cache that is brought up to date
before every query: rollouts written by other programs are noticed through directory
modification times (new, moved and removed files), through a check of every thread a query
returns (appends), and through a small round-robin sweep of the other threads. Listing and search
cost therefore depend on the page size and the number of day directories, not on the number of
threads. ``reindex()`` rebuilds the index from the files.

One live writer per thread, across processes: each writer holds an ``flock`` (:mod:`.lock`); a
second writer — in another process or another store object — gets ``Conflict``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar, cast

from ... import _json
from ...errors import Conflict, Internal, InvalidRequest, ResourceExhausted, ThreadNotFound, ThreadStoreError
from ...ids import validate_thread_id
from ...items import DEFAULT_MAX_ITEM_BYTES, Item, thread_name_updated
from ...timeutil import format_rfc3339, from_ms, utc_now
from ..live import LiveWriter, LiveWriterStore, initial_session_meta
from ..patch import UNSET, GitInfoPatch, ThreadMetadataPatch, apply_patch
from ..query import decode_cursor, encode_cursor, normalize_cwd, snippet
from ..summary import ThreadSummary, search_texts
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
from .index import TEXT_SHIFT, Index, IndexRow, trigram_query
from .layout import COMPRESSED_SUFFIX, Layout, date_parts, is_compressed, logical_path, thread_id_from_name
from .lock import ThreadLock, is_locked
from .names import append_name, read_bytes_at, read_names, remove_names
from .rollout import RolloutChunk, decompress, read_first_line, read_rollout
from .writer import LocalWriter, os_error

__all__ = ["LocalThreadStore", "ReindexReport"]

_log = logging.getLogger("threadstore.local")

SWEEP_BUDGET: Final = 64
_INDEX_BATCH: Final = 256
_SQLITE_CORRUPT: Final = 11
_SQLITE_NOTADB: Final = 26
_MAX_FORK_DEPTH: Final = 16


_F = TypeVar("_F", bound=Callable[..., Awaitable[Any]])


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


@dataclass(frozen=True, slots=True)
class ReindexReport:
    """What a rebuild of the index found."""

    threads: int
    skipped_lines: int
    unreadable_files: int


@dataclass(slots=True)
class _Resolved:
    """A thread's items with fork references resolved."""

    items: list[Item]
    timestamps: list[str | None]
    skipped: int
    end_offset: int


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
        #: Called with (done, total) while new rollouts are being indexed (a first look at a
        #: large existing home takes a while).
        self.index_progress = index_progress
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
        self._dirty: dict[str, LocalWriter] = {}
        #: Directory changes made by this store: path -> (mtime before, mtime after).
        self._own_dirs: dict[str, tuple[int, int]] = {}
        self._sweep_after = 0
        self._closed = False

    # -- paths -----------------------------------------------------------------------------------

    def live_rollout_path(self, thread_id: str) -> Path:
        """The rollout file of a live thread (it may not exist yet if nothing was written)."""
        writer = self._live_writer(validate_thread_id(thread_id))
        assert isinstance(writer, LocalWriter)
        return writer.path

    def _mark_dirty(self, writer: LocalWriter) -> None:
        self._dirty[writer.thread_id] = writer

    def _own_dir_change(self, directory: Path, before_ns: int | None, after_ns: int | None) -> None:
        """Record a directory change this store made itself (a rollout created or moved in), so
        the next scan does not re-read the whole directory. Only when the index had seen the
        directory as it was just before the change; otherwise the next scan looks at it."""
        if before_ns is None or after_ns is None:
            return
        key = str(directory)
        pending = self._own_dirs.get(key)
        if pending is not None and pending[1] == before_ns:
            self._own_dirs[key] = (pending[0], after_ns)
        else:
            self._own_dirs[key] = (before_ns, after_ns)

    def _writer_closed(self, writer: LocalWriter) -> None:
        """A writer ended: index what it wrote now, so queries do not pay for it later."""
        if not writer.size:
            return
        self._dirty.pop(writer.thread_id, None)
        if self._closed:
            self._dirty[writer.thread_id] = writer
            return
        try:
            with self._index.transaction():
                self._index_writer(writer)
        except (sqlite3.Error, ThreadStoreError):
            self._dirty[writer.thread_id] = writer  # the next query retries

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
            if thread_id in self._dirty or self._index.get(thread_id) is not None:
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
            row = self._row_for(thread_id)
            if row is None:
                raise ThreadNotFound(thread_id)
            if row.archived and not params.include_archived:
                raise InvalidRequest(f"thread {thread_id} is archived")
            path = Path(row.path)
        lock = ThreadLock.acquire(self.layout.locks, thread_id)
        try:
            path = self._plain_rollout(path)
            row = self._index_file(path, thread_id)
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

    def _find_path(self, thread_id: str) -> Path | None:
        writer = self._local_writer(thread_id)
        if writer is not None:
            return writer.path
        row = self._index.get(thread_id)
        return Path(row.path) if row is not None else None

    def _resolve(self, path: Path, chunk: RolloutChunk, depth: int = 0) -> _Resolved:
        """Expand a fork reference (a newer Codex fork points at its parent's first N lines)."""
        items, stamps = chunk.items, chunk.timestamps
        if items and depth < _MAX_FORK_DEPTH and items[0].get("type") == "session_meta":
            meta = items[0].get("payload") or {}
            parent_id = meta.get("forked_from_id")
            cut = meta.get("forked_from_ordinal_exclusive")
            if isinstance(parent_id, str) and isinstance(cut, int) and not isinstance(cut, bool):
                parent_path = self._find_path(parent_id)
                if parent_path is not None and parent_path != path:
                    try:
                        parent = self._resolve(parent_path, read_rollout(parent_path), depth + 1)
                    except (InvalidRequest, Internal):
                        parent = None
                    if parent is not None:
                        kept = [
                            (item, ts)
                            for index, (item, ts) in enumerate(zip(parent.items, parent.timestamps, strict=True))
                            if _ordinal(item, index) < cut
                        ]
                        items = [items[0], *(i for i, _ in kept), *items[1:]]
                        stamps = [stamps[0], *(t for _, t in kept), *stamps[1:]]
        return _Resolved(items, stamps, chunk.skipped, chunk.end_offset)

    def _plain_rollout(self, path: Path) -> Path:
        """The rollout to append to: a compressed one is first re-materialized as plain JSONL,
        as Codex does (the plain file is written and synced before the compressed one goes)."""
        if not is_compressed(path):
            return path
        plain = Path(logical_path(path))
        tmp = plain.with_name(f".{plain.name}.tmp")
        try:
            data = decompress(path)
            with open(tmp, "wb") as f:
                f.write(data if data.endswith(b"\n") or not data else data + b"\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, plain)
            os.unlink(path)
            directory = os.open(plain.parent, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise os_error("decompress", path, exc) from None
        thread_id = thread_id_from_name(plain.name)
        if thread_id is not None:
            self._index_file(plain, thread_id)
        return plain

    def _read_items(self, path: Path) -> _Resolved:
        resolved = self._resolve(path, read_rollout(path))
        if resolved.skipped:
            # Torn, corrupt or NUL-padded lines: skipped (the lines after them are kept), counted.
            _log.warning("skipped %d unreadable line(s) in %s", resolved.skipped, path)
        return resolved

    # -- the index -------------------------------------------------------------------------------

    def _compose(
        self,
        thread_id: str,
        path: Path,
        summary: ThreadSummary,
        stat: os.stat_result | None,
        *,
        overrides: bool = True,
    ) -> StoredThread:
        """The StoredThread a rollout describes, with names (and overrides) applied."""
        mtime = datetime.fromtimestamp(stat.st_mtime, UTC) if stat else utc_now()
        archived = self.layout.is_archived(path)
        archived_at = None
        if archived:
            archived_at = datetime.fromtimestamp(max(stat.st_ctime, stat.st_mtime), UTC) if stat else mtime
        entry = self._index.name_entry(thread_id)
        name = (entry or None) if entry is not None else summary.rollout_name
        thread = summary.to_thread(
            thread_id=thread_id,
            fallback_time=mtime,
            rollout_path=logical_path(path),
            archived_at=archived_at,
            name=name,
            default_provider=self.default_model_provider,
        )
        if entry is not None and not entry:
            thread = dataclasses.replace(thread, name=None)
        return apply_patch(thread, self._index.overrides(thread_id)) if overrides else thread

    def _index_file(
        self,
        path: Path,
        thread_id: str | None = None,
        row: IndexRow | None = None,
        skipped: list[int] | None = None,
    ) -> IndexRow:
        """Bring the row of one rollout up to date with the file (incrementally when it grew).

        The number of unreadable lines found is appended to ``skipped`` when given."""
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise InvalidRequest(f"failed to resolve rollout path `{path}`: file does not exist") from None
        except OSError as exc:
            raise Internal(f"failed to stat rollout {path}: {exc}") from None
        thread_id = thread_id or thread_id_from_name(path.name)
        if thread_id is None:
            first = read_first_line(path)
            meta_id = (first or {}).get("payload", {}).get("id") if first else None
            if not isinstance(meta_id, str):
                raise InvalidRequest(f"rollout `{path}` has no session metadata")
            thread_id = validate_thread_id(meta_id)
        if row is None:
            row = self._index.get(thread_id)
        path_str = str(path)
        if (
            row is not None
            and row.path == path_str
            and row.ino == stat.st_ino
            and row.file_size == stat.st_size
            and row.mtime_ns == stat.st_mtime_ns
        ):
            return row
        incremental = (
            row is not None
            and row.path == path_str
            and row.ino == stat.st_ino
            and stat.st_size >= row.file_size
            and not is_compressed(path)
        )
        if incremental:
            assert row is not None
            summary = row.summary
            chunk = read_rollout(path, row.file_size)
            resolved = _Resolved(chunk.items, chunk.timestamps, chunk.skipped, chunk.end_offset)
        else:
            summary = ThreadSummary(thread_id)
            resolved = self._read_items(path)
        if skipped is not None:
            skipped.append(resolved.skipped)
        texts: list[str] = []
        for item, ts in zip(resolved.items, resolved.timestamps, strict=True):
            summary.add(item, item.get("timestamp") if isinstance(item.get("timestamp"), str) else ts)
            for text in search_texts(item):
                if text not in texts[-4:]:
                    texts.append(text)
        thread = self._compose(thread_id, path, summary, stat)
        with self._index.transaction():
            return self._index.upsert(
                thread=thread,
                path=path_str,
                archived=self.layout.is_archived(path),
                summary=summary,
                # A compressed rollout is read whole; its row remembers the compressed size.
                file_size=stat.st_size if is_compressed(path) else resolved.end_offset,
                mtime_ns=stat.st_mtime_ns,
                ino=stat.st_ino,
                new_texts=texts,
                reset_texts=not incremental,
            )

    def _take_dirty(self) -> None:
        """Move what in-process writers appended into the index (no file reads needed)."""
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, {}
        with self._index.transaction():
            for writer in dirty.values():
                self._index_writer(writer)

    def _index_writer(self, writer: LocalWriter) -> None:
        stat = _stat(writer.path)
        if stat is None:
            return
        thread = self._compose(writer.thread_id, writer.path, writer.summary, stat)
        texts, writer.new_texts = writer.new_texts, []
        path = str(writer.path)
        known = self._index.location(writer.thread_id)
        self._index.upsert(
            thread=thread,
            path=path,
            archived=self.layout.is_archived(writer.path),
            summary=writer.summary,
            file_size=writer.size,
            mtime_ns=stat.st_mtime_ns,
            ino=stat.st_ino,
            new_texts=texts,
            reset_texts=known is not None and known[1] != stat.st_ino,
        )

    def _scan_dirs(self) -> None:
        """Index rollouts added, moved or removed by anyone since the last scan."""
        known = self._index.dir_mtimes()
        own, self._own_dirs = self._own_dirs, {}
        for key, (before, after) in own.items():
            if known.get(key) == before:
                known[key] = after
                self._index.set_dir(key, after)
        seen: dict[str, int] = {}
        changed: list[Path] = []

        def visit(directory: Path, depth: int) -> None:
            try:
                stat = os.stat(directory)
            except OSError:
                return
            key = str(directory)
            seen[key] = stat.st_mtime_ns
            if depth == 0:
                if known.get(key) != stat.st_mtime_ns:
                    changed.append(directory)
                return
            try:
                children = sorted(e.path for e in os.scandir(directory) if e.is_dir(follow_symlinks=False))
            except OSError:
                return
            for child in children:
                visit(Path(child), depth - 1)

        visit(self.layout.sessions, 3)
        visit(self.layout.archived, 0)
        for directory in changed:
            self._scan_dir(directory)
            self._index.set_dir(str(directory), seen[str(directory)])
        for key in known.keys() - seen.keys():
            # A directory that vanished: forget its rows.
            for path, thread_id in self._index.paths_under(key).items():
                if not os.path.exists(path) and self._local_writer(thread_id) is None:
                    self._index.delete(thread_id)
            self._index.forget_dir(key)

    def _scan_dir(self, directory: Path) -> None:
        """Index the rollouts that appeared in ``directory`` and forget those that left it.

        Files the index already knows are not read here (appends to them are found by the
        per-query checks), so a rescan costs one directory listing plus the new files."""
        on_disk: dict[str, str] = {}
        try:
            for entry in os.scandir(directory):
                if entry.name.endswith((".jsonl", ".jsonl.zst")) and entry.is_file():
                    thread_id = thread_id_from_name(entry.name)
                    if thread_id is not None:
                        on_disk[entry.path] = thread_id
        except OSError:
            return
        # A plain rollout and its compressed twin: the plain one is current.
        for path in [p for p in on_disk if is_compressed(p)]:
            if logical_path(path) in on_disk:
                del on_disk[path]
        indexed = self._index.paths_under(str(directory))
        gone = [(p, t) for p, t in indexed.items() if p not in on_disk]
        new = sorted((p, t) for p, t in on_disk.items() if p not in indexed)
        with self._index.transaction():
            for path, thread_id in gone:
                location = self._index.location(thread_id)
                if location is not None and location[0] == path and self._local_writer(thread_id) is None:
                    self._index.delete(thread_id)
        # New files are indexed in batches: one transaction each, short enough not to hold other
        # processes' writers back for long.
        for start in range(0, len(new), _INDEX_BATCH):
            with self._index.transaction():
                for path, thread_id in new[start : start + _INDEX_BATCH]:
                    self._index_new_file(Path(path), thread_id)
            if self.index_progress is not None:
                self.index_progress(min(start + _INDEX_BATCH, len(new)), len(new))

    def _index_new_file(self, path: Path, thread_id: str) -> None:
        location = self._index.location(thread_id)
        # Two files claiming one thread: the active one wins over the archived one.
        if (
            location is not None
            and location[0] != str(path)
            and os.path.exists(location[0])
            and self.layout.is_archived(path)
            and not self.layout.is_archived(location[0])
        ):
            return
        try:
            self._index_file(path, thread_id)
        except (InvalidRequest, Internal):
            return

    def _sync_names(self) -> None:
        path = self.layout.session_index
        stat = _stat(path)
        state = f"{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}" if stat else ""
        if self._index.get_meta("names_state") == state:
            return
        offset = int(self._index.get_meta("names_offset") or 0)
        tail = bytes.fromhex(self._index.get_meta("names_tail") or "")
        # Codex and this store only append. A file that is another file, did not grow, or no
        # longer ends its old part with the last bytes read was rewritten: read it all again.
        if (
            stat is None
            or self._index.get_meta("names_ino") != str(stat.st_ino)
            or stat.st_size <= offset
            or read_bytes_at(path, offset - len(tail), len(tail)) != tail
        ):
            offset = 0
        names, end = read_names(path, offset)
        with self._index.transaction():
            changed = self._index.set_names(names, replace=offset == 0)
            self._index.set_meta("names_offset", str(end))
            self._index.set_meta("names_ino", str(stat.st_ino) if stat else "")
            self._index.set_meta("names_tail", read_bytes_at(path, max(0, end - 64), min(end, 64)).hex())
            self._index.set_meta("names_state", state)
            for thread_id in changed:
                row = self._index.get(thread_id)
                if row is not None:
                    path_obj = Path(row.path)
                    self._index.update_thread_json(self._compose(thread_id, path_obj, row.summary, _stat(path_obj)))

    def _sweep(self) -> None:
        """Check a few threads per query for appends by other programs (round robin)."""
        rows = self._index.rows_after(self._sweep_after, SWEEP_BUDGET)
        if len(rows) < SWEEP_BUDGET:
            self._sweep_after = 0
        for num, thread_id, path, size, mtime_ns, ino in rows:
            self._sweep_after = num
            self._check_row(thread_id, path, size, mtime_ns, ino)

    def _check_row(self, thread_id: str, path: str, size: int, mtime_ns: int, ino: int) -> bool:
        """Re-index one row if its file changed; True when it did."""
        if self._local_writer(thread_id) is not None:
            return False
        try:
            stat = os.stat(path)
        except OSError:
            return False  # the directory scan handles removals
        if stat.st_size == size and stat.st_mtime_ns == mtime_ns and stat.st_ino == ino:
            return False
        try:
            self._index_file(Path(path), thread_id)
        except (InvalidRequest, Internal):
            return False
        return True

    def _refresh(self, light: bool = False) -> None:
        """Bring the index up to date before a query (``light``: only look for new files)."""
        self._check_open()
        try:
            self._catch_up(light)
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                raise Internal(f"index {self.layout.index_db} failed: {exc}") from None
            # The index is only a cache of the files: a corrupt one is thrown away and rebuilt.
            self._index.recreate()
            self._rebuild()
            self._catch_up()

    def _catch_up(self, light: bool = False) -> None:
        if light:
            self._scan_dirs()
            return
        self._take_dirty()
        self._scan_dirs()
        self._sync_names()
        self._sweep()

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidRequest("the store is closed")

    def _row_for(self, thread_id: str) -> IndexRow | None:
        """The up-to-date row of a thread (None when no rollout is known)."""
        self._refresh()
        writer = self._local_writer(thread_id)
        row = self._index.get(thread_id)
        if writer is not None and not writer.materialized and row is None:
            return None
        if row is None:
            return None
        if not os.path.exists(row.path):
            self._index.delete(thread_id)
            return None
        if writer is None:
            return self._index_file(Path(row.path), thread_id, row)
        return row

    @_store_errors
    async def reindex(self, progress: Callable[[int, int], None] | None = None) -> ReindexReport:
        """Rebuild the index from the files (overrides are kept). ``progress(done, total)`` is
        called as rollouts are read."""
        self._check_open()
        return self._rebuild(progress)

    def _rebuild(self, progress: Callable[[int, int], None] | None = None) -> ReindexReport:
        self._take_dirty()
        self._index.reset()
        files: list[Path] = []
        for root in (self.layout.sessions, self.layout.archived):
            if root.is_dir():
                files.extend(p for p in root.rglob("*.jsonl") if thread_id_from_name(p.name))
                files.extend(
                    p
                    for p in root.rglob("*.jsonl.zst")
                    if thread_id_from_name(p.name) and not os.path.exists(logical_path(p))
                )
        skipped = unreadable = count = 0
        total = len(files)
        for number, path in enumerate(sorted(files, key=lambda p: (self.layout.is_archived(p), str(p))), 1):
            try:
                row = self._index.get(thread_id_from_name(path.name) or "")
                if row is not None and row.path != str(path) and not self.layout.is_archived(Path(row.path)):
                    continue
                counts: list[int] = []
                self._index_file(path, skipped=counts)
                count += 1
                skipped += sum(counts)
            except (InvalidRequest, Internal):
                unreadable += 1
            if progress is not None:
                progress(number, total)
        self._scan_dirs_mark_all()
        self._sync_names()
        return ReindexReport(threads=count, skipped_lines=skipped, unreadable_files=unreadable)

    def _scan_dirs_mark_all(self) -> None:
        for root, depth in ((self.layout.sessions, 3), (self.layout.archived, 0)):
            stack = [(root, depth)]
            while stack:
                directory, level = stack.pop()
                stat = _stat(directory)
                if stat is None:
                    continue
                if level == 0:
                    self._index.set_dir(str(directory), stat.st_mtime_ns)
                    continue
                try:
                    stack.extend(
                        (Path(e.path), level - 1) for e in os.scandir(directory) if e.is_dir(follow_symlinks=False)
                    )
                except OSError:
                    continue

    # -- reads -----------------------------------------------------------------------------------

    def _thread_row(self, thread_id: str, include_archived: bool) -> IndexRow:
        row = self._row_for(thread_id)
        if row is None:
            raise ThreadNotFound(thread_id)
        if row.archived and not include_archived:
            raise InvalidRequest(f"thread {thread_id} is archived")
        return row

    @_store_errors
    async def load_history(self, params: LoadThreadHistoryParams) -> StoredThreadHistory:
        row = self._thread_row(params.thread_id, params.include_archived)
        return StoredThreadHistory(params.thread_id, self._read_items(Path(row.path)).items)

    @_store_errors
    async def read_thread(self, params: ReadThreadParams) -> StoredThread:
        row = self._thread_row(params.thread_id, params.include_archived)
        thread = row.thread()
        if params.include_history:
            items = self._read_items(Path(row.path)).items
            thread = dataclasses.replace(thread, history=StoredThreadHistory(params.thread_id, items))
        return thread

    @_store_errors
    async def read_thread_by_rollout_path(self, params: ReadThreadByRolloutPathParams) -> StoredThread:
        self._check_open()
        path = self._resolve_rollout_path(params.rollout_path)
        resolved = self._read_items(path)
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
        thread = self._compose(thread_id, path, summary, _stat(path))
        if thread.archived_at is not None and not params.include_archived:
            raise InvalidRequest(f"thread {thread_id} is archived")
        if params.include_history:
            thread = dataclasses.replace(thread, history=StoredThreadHistory(thread_id, resolved.items))
        return thread

    def _page_query(
        self,
        *,
        archived: bool,
        sort_key: str,
        descending: bool,
        cursor: str | None,
        limit: int,
        where: list[str],
        args: list[Any],
    ) -> list[tuple[Any, ...]]:
        anchor = decode_cursor(cursor)
        column = "updated_ms" if sort_key == "updated_at" else "created_ms"
        clauses = ["archived = ?", "visible = 1", *where]
        values: list[Any] = [1 if archived else 0, *args]
        if anchor is not None:
            op = "<" if descending else ">"
            if anchor.thread_id is None:
                clauses.append(f"{column} {op} ?")
                values.append(anchor.ts_ms)
            else:
                clauses.append(f"({column} {op} ? OR ({column} = ? AND thread_id {op} ?))")
                values.extend([anchor.ts_ms, anchor.ts_ms, anchor.thread_id])
        order = "DESC" if descending else "ASC"
        sql = (
            f"SELECT num, thread_id, path, file_size, mtime_ns, ino, thread_json, {column} FROM threads "
            f"WHERE {' AND '.join(clauses)} ORDER BY {column} {order}, thread_id {order} LIMIT ?"
        )
        return self._index.query(sql, [*values, limit])

    def _page(
        self, params: ListThreadsParams | SearchThreadsParams, where: list[str], args: list[Any]
    ) -> tuple[list[tuple[Any, ...]], str | None]:
        """One page of index rows in the requested order, and the cursor after it (if more)."""
        rows = self._fresh_page(
            lambda: self._page_query(
                archived=params.archived,
                sort_key=params.sort_key,
                descending=params.sort_direction == "desc",
                cursor=params.cursor,
                limit=params.page_size + 1,
                where=where,
                args=args,
            )
        )
        if len(rows) <= params.page_size:
            return rows, None
        last = rows[params.page_size - 1]
        return rows[: params.page_size], encode_cursor(from_ms(last[7]), last[1])

    def _fresh_page(self, run: Callable[[], list[tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
        """Run a page query, re-index any returned thread whose file changed, and re-run once."""
        rows = run()
        changed = False
        for _num, thread_id, path, size, mtime_ns, ino, *_ in rows:
            changed |= self._check_row(thread_id, path, size, mtime_ns, ino)
        return run() if changed else rows

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
        rows, next_cursor = self._page(params, where, args)
        return ThreadPage(items=[_thread_of(r) for r in rows], next_cursor=next_cursor)

    @_store_errors
    async def search_threads(self, params: SearchThreadsParams) -> ThreadSearchPage:
        decode_cursor(params.cursor)
        self._refresh()
        term = params.search_term.strip()
        # The trigram index finds candidates holding every trigram of the term, in listing order;
        # each candidate is then confirmed (and its snippet found) by a substring test on its
        # stored texts. Terms under three characters have no trigram: their texts are scanned.
        fts = trigram_query(term)
        if fts is not None:
            where = [f"num IN (SELECT rowid >> {TEXT_SHIFT} FROM texts WHERE texts MATCH ?)"]
            args: list[Any] = [fts]
        else:
            where = [f"num IN (SELECT rowid >> {TEXT_SHIFT} FROM texts WHERE ts_contains(body, ?))"]
            args = [term]
        if params.allowed_sources:
            _source_filter(params.allowed_sources, where, args)
        wanted = params.page_size + 1  # one more than a page tells whether another page exists
        found: list[tuple[tuple[Any, ...], str]] = []
        cursor = params.cursor
        while len(found) < wanted:

            def query(cursor: str | None = cursor) -> list[tuple[Any, ...]]:
                return self._page_query(
                    archived=params.archived,
                    sort_key=params.sort_key,
                    descending=params.sort_direction == "desc",
                    cursor=cursor,
                    limit=wanted,
                    where=where,
                    args=args,
                )

            batch = self._fresh_page(query)
            for row in batch:
                text = self._index.first_text(row[0], term)
                if text is not None:
                    found.append((row, text))
                    if len(found) == wanted:
                        break
            if len(batch) < wanted:
                break
            cursor = encode_cursor(from_ms(batch[-1][7]), batch[-1][1])
        next_cursor = None
        if len(found) > params.page_size:
            last = found[params.page_size - 1][0]
            next_cursor = encode_cursor(from_ms(last[7]), last[1])
        hits = [
            StoredThreadSearchResult(_thread_of(row), snippet(text, term) or text[:144])
            for row, text in found[: params.page_size]
        ]
        return ThreadSearchPage(items=hits, next_cursor=next_cursor)

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
            path = self._plain_rollout(path)
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
            self._store_overrides(thread_id, Path(row.path), row.summary, rest)
        self._refresh()
        row = self._index_file(Path(self._find_path(thread_id) or path), thread_id)
        with self._index.transaction():
            thread = self._compose(thread_id, Path(row.path), row.summary, _stat(Path(row.path)))
            self._index.update_thread_json(thread)
        return thread

    def _store_overrides(self, thread_id: str, path: Path, summary: ThreadSummary, patch: ThreadMetadataPatch) -> None:
        """Keep the fields of ``patch`` that differ from what the rollout itself says.

        The rollout is the truth for derived facts (preview, token usage, model, ...): a patch that
        repeats them — what ``LiveThread`` sends after each append — stores nothing, so a later
        append by any program still shows through. A value that differs is an explicit override
        and stays (``updated_at`` only ever moves forward); patching a field back to the derived
        value removes its override."""
        derived = self._compose(thread_id, path, summary, _stat(path), overrides=False)
        current = self._index.overrides(thread_id)
        keep: dict[str, Any] = {}
        drop: list[str] = []
        for name, value in patch.present().items():
            if name == "updated_at":
                if value > derived.updated_at:
                    keep[name] = value
            elif value == getattr(derived, name):
                drop.append(name)
            else:
                keep[name] = value
        updated = current.without(*drop).merge(ThreadMetadataPatch(**keep))
        if updated != current:
            with self._index.transaction():
                self._index.set_overrides(thread_id, updated)

    # -- archive / unarchive / delete -----------------------------------------------------------

    @_store_errors
    async def archive_thread(self, thread_id: str) -> None:
        thread_id = validate_thread_id(thread_id)
        row = self._row_for(thread_id)
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
        self._index_file(target, thread_id)

    @_store_errors
    async def unarchive_thread(self, thread_id: str) -> StoredThread:
        thread_id = validate_thread_id(thread_id)
        row = self._row_for(thread_id)
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
        return self._index_file(target, thread_id).thread()

    def _move(self, source: Path, target: Path) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                raise Conflict(f"rollout {target} already exists")
            before = {d: _mtime_ns(d) for d in (source.parent, target.parent)}
            os.rename(source, target)
            for directory, mtime in before.items():
                self._own_dir_change(directory, mtime, _mtime_ns(directory))
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
        self._dirty.pop(thread_id, None)
        with self._index.transaction():
            self._index.forget_thread(thread_id)
        if writer is not None:
            await self.discard_thread(thread_id)
        self._dirty.pop(thread_id, None)

    # -- resources -------------------------------------------------------------------------------

    async def close(self) -> None:
        if self._closed:
            return
        await super().close()
        try:
            self._take_dirty()
        finally:
            self._closed = True
            self._index.close()


def _ordinal(item: Item, index: int) -> int:
    value = item.get("ordinal")
    return value if isinstance(value, int) and not isinstance(value, bool) else index


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


def _mtime_ns(path: Path) -> int | None:
    stat = _stat(path)
    return stat.st_mtime_ns if stat else None


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _thread_of(row: tuple[Any, ...]) -> StoredThread:
    from ..serialize import thread_from_json

    return thread_from_json(_json.loads(row[6]))
