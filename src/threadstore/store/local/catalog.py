"""The catalog: the local store's index, kept in step with the rollout files of one home.

The rollout files are the truth; the index (:mod:`.index`) is a cache of what they say, brought
up to date before every query. Rollouts written by other programs are noticed through
directory modification times (new, moved and removed files), through a check of every row a
query returns (appends), and through a small round-robin sweep of the other rows; what this
process's own writers append is taken from them directly (no file reads). Listing and search
cost therefore depend on the page size and the number of day directories, not on the number of
threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from ...errors import Internal, InvalidRequest, ThreadStoreError
from ...ids import validate_thread_id
from ...items import Item
from ...timeutil import from_ms, utc_now
from ..patch import ThreadMetadataPatch, apply_patch, reconcile_overrides
from ..query import decode_cursor, encode_cursor
from ..summary import ThreadSummary, search_texts
from ..types import ListThreadsParams, SearchThreadsParams, StoredThread
from .index import Index, IndexRow
from .layout import Layout, is_compressed, logical_path, thread_id_from_name
from .names import read_bytes_at, read_names
from .rollout import RolloutChunk, decompress, read_first_line, read_rollout
from .writer import LocalWriter, os_error

__all__ = ["Catalog", "ReindexReport"]

_log: Final = logging.getLogger("threadstore.local")

SWEEP_BUDGET: Final = 64
_INDEX_BATCH: Final = 256
_MAX_FORK_DEPTH: Final = 16
_SQLITE_CORRUPT: Final = 11
_SQLITE_NOTADB: Final = 26


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


class Catalog:
    """The index of one home and the work that keeps it true to the files (see the module
    documentation). ``live_writer`` gives this process's live writer of a thread, if any."""

    def __init__(
        self,
        layout: Layout,
        index: Index,
        *,
        default_model_provider: str,
        live_writer: Callable[[str], LocalWriter | None],
        index_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.layout = layout
        self.index = index
        self.default_model_provider = default_model_provider
        self.live_writer = live_writer
        #: Called with (done, total) while new rollouts are being indexed.
        self.index_progress = index_progress
        #: Writers whose appends the index has not taken yet.
        self.dirty: dict[str, LocalWriter] = {}
        #: Directory changes made by this process: path -> (mtime before, mtime after).
        self.own_dirs: dict[str, tuple[int, int]] = {}
        self.sweep_after = 0
        #: Set when the store closes: queries are refused, closing writers stay dirty.
        self.closed = False

    def mark_dirty(self, writer: LocalWriter) -> None:
        self.dirty[writer.thread_id] = writer

    def own_dir_change(self, directory: Path, before_ns: int | None, after_ns: int | None) -> None:
        """Record a directory change this store made itself (a rollout created or moved in), so
        the next scan does not re-read the whole directory. Only when the index had seen the
        directory as it was just before the change; otherwise the next scan looks at it."""
        if before_ns is None or after_ns is None:
            return
        key = str(directory)
        pending = self.own_dirs.get(key)
        if pending is not None and pending[1] == before_ns:
            self.own_dirs[key] = (pending[0], after_ns)
        else:
            self.own_dirs[key] = (before_ns, after_ns)

    def writer_closed(self, writer: LocalWriter) -> None:
        """A writer ended: index what it wrote now, so queries do not pay for it later."""
        if not writer.size:
            return
        self.dirty.pop(writer.thread_id, None)
        if self.closed:
            self.dirty[writer.thread_id] = writer
            return
        try:
            with self.index.transaction():
                self.index_writer(writer)
        except (sqlite3.Error, ThreadStoreError):
            self.dirty[writer.thread_id] = writer  # the next query retries

    def find_path(self, thread_id: str) -> Path | None:
        writer = self.live_writer(thread_id)
        if writer is not None:
            return writer.path
        row = self.index.get(thread_id)
        return Path(row.path) if row is not None else None

    def resolve(self, path: Path, chunk: RolloutChunk, depth: int = 0) -> _Resolved:
        """Expand a fork reference (a newer Codex fork points at its parent's first N lines)."""
        items, stamps = chunk.items, chunk.timestamps
        if items and depth < _MAX_FORK_DEPTH and items[0].get("type") == "session_meta":
            meta = items[0].get("payload") or {}
            parent_id = meta.get("forked_from_id")
            cut = meta.get("forked_from_ordinal_exclusive")
            if isinstance(parent_id, str) and isinstance(cut, int) and not isinstance(cut, bool):
                parent_path = self.find_path(parent_id)
                if parent_path is not None and parent_path != path:
                    try:
                        parent = self.resolve(parent_path, read_rollout(parent_path), depth + 1)
                    except (InvalidRequest, Internal):
                        parent = None
                    if parent is not None:
                        kept = [
                            (item, ts)
                            for index, (item, ts) in enumerate(zip(parent.items, parent.timestamps, strict=True))
                            if ordinal(item, index) < cut
                        ]
                        items = [items[0], *(i for i, _ in kept), *items[1:]]
                        stamps = [stamps[0], *(t for _, t in kept), *stamps[1:]]
        return _Resolved(items, stamps, chunk.skipped, chunk.end_offset)

    def plain_rollout(self, path: Path) -> Path:
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
            self.index_file(plain, thread_id)
        return plain

    def read_items(self, path: Path) -> _Resolved:
        resolved = self.resolve(path, read_rollout(path))
        if resolved.skipped:
            # Torn, corrupt or NUL-padded lines: skipped (the lines after them are kept), counted.
            _log.warning("skipped %d unreadable line(s) in %s", resolved.skipped, path)
        return resolved

    def compose(
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
        entry = self.index.name_entry(thread_id)
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
        return apply_patch(thread, self.index.overrides(thread_id)) if overrides else thread

    def index_file(
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
            row = self.index.get(thread_id)
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
            resolved = self.read_items(path)
        if skipped is not None:
            skipped.append(resolved.skipped)
        texts: list[str] = []
        for item, ts in zip(resolved.items, resolved.timestamps, strict=True):
            summary.add(item, item.get("timestamp") if isinstance(item.get("timestamp"), str) else ts)
            for text in search_texts(item):
                if text not in texts[-4:]:
                    texts.append(text)
        thread = self.compose(thread_id, path, summary, stat)
        with self.index.transaction():
            return self.index.upsert(
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

    def take_dirty(self) -> None:
        """Move what in-process writers appended into the index (no file reads needed)."""
        if not self.dirty:
            return
        dirty, self.dirty = self.dirty, {}
        with self.index.transaction():
            for writer in dirty.values():
                self.index_writer(writer)

    def index_writer(self, writer: LocalWriter) -> None:
        stat = stat_or_none(writer.path)
        if stat is None:
            return
        thread = self.compose(writer.thread_id, writer.path, writer.summary, stat)
        texts, writer.new_texts = writer.new_texts, []
        path = str(writer.path)
        known = self.index.location(writer.thread_id)
        self.index.upsert(
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

    def scan_dirs(self) -> None:
        """Index rollouts added, moved or removed by anyone since the last scan."""
        known = self.index.dir_mtimes()
        own, self.own_dirs = self.own_dirs, {}
        for key, (before, after) in own.items():
            if known.get(key) == before:
                known[key] = after
                self.index.set_dir(key, after)
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
            self.scan_dir(directory)
            self.index.set_dir(str(directory), seen[str(directory)])
        for key in known.keys() - seen.keys():
            # A directory that vanished: forget its rows.
            for path, thread_id in self.index.paths_under(key).items():
                if not os.path.exists(path) and self.live_writer(thread_id) is None:
                    self.index.delete(thread_id)
            self.index.forget_dir(key)

    def scan_dir(self, directory: Path) -> None:
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
        indexed = self.index.paths_under(str(directory))
        gone = [(p, t) for p, t in indexed.items() if p not in on_disk]
        new = sorted((p, t) for p, t in on_disk.items() if p not in indexed)
        with self.index.transaction():
            for path, thread_id in gone:
                location = self.index.location(thread_id)
                if location is not None and location[0] == path and self.live_writer(thread_id) is None:
                    self.index.delete(thread_id)
        # New files are indexed in batches: one transaction each, short enough not to hold other
        # processes' writers back for long.
        for start in range(0, len(new), _INDEX_BATCH):
            with self.index.transaction():
                for path, thread_id in new[start : start + _INDEX_BATCH]:
                    self.index_new_file(Path(path), thread_id)
            if self.index_progress is not None:
                self.index_progress(min(start + _INDEX_BATCH, len(new)), len(new))

    def index_new_file(self, path: Path, thread_id: str) -> None:
        location = self.index.location(thread_id)
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
            self.index_file(path, thread_id)
        except (InvalidRequest, Internal):
            return

    def sync_names(self) -> None:
        path = self.layout.session_index
        stat = stat_or_none(path)
        state = f"{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}" if stat else ""
        if self.index.get_meta("names_state") == state:
            return
        offset = int(self.index.get_meta("names_offset") or 0)
        tail = bytes.fromhex(self.index.get_meta("names_tail") or "")
        # Codex and this store only append. A file that is another file, did not grow, or no
        # longer ends its old part with the last bytes read was rewritten: read it all again.
        if (
            stat is None
            or self.index.get_meta("names_ino") != str(stat.st_ino)
            or stat.st_size <= offset
            or read_bytes_at(path, offset - len(tail), len(tail)) != tail
        ):
            offset = 0
        names, end = read_names(path, offset)
        with self.index.transaction():
            changed = self.index.set_names(names, replace=offset == 0)
            self.index.set_meta("names_offset", str(end))
            self.index.set_meta("names_ino", str(stat.st_ino) if stat else "")
            self.index.set_meta("names_tail", read_bytes_at(path, max(0, end - 64), min(end, 64)).hex())
            self.index.set_meta("names_state", state)
            for thread_id in changed:
                row = self.index.get(thread_id)
                if row is not None:
                    path_obj = Path(row.path)
                    self.index.update_thread_json(
                        self.compose(thread_id, path_obj, row.summary, stat_or_none(path_obj))
                    )

    def sweep(self) -> None:
        """Check a few threads per query for appends by other programs (round robin)."""
        rows = self.index.rows_after(self.sweep_after, SWEEP_BUDGET)
        if len(rows) < SWEEP_BUDGET:
            self.sweep_after = 0
        for num, thread_id, path, size, mtime_ns, ino in rows:
            self.sweep_after = num
            self.check_row(thread_id, path, size, mtime_ns, ino)

    def check_row(self, thread_id: str, path: str, size: int, mtime_ns: int, ino: int) -> bool:
        """Re-index one row if its file changed; True when it did."""
        if self.live_writer(thread_id) is not None:
            return False
        try:
            stat = os.stat(path)
        except OSError:
            return False  # the directory scan handles removals
        if stat.st_size == size and stat.st_mtime_ns == mtime_ns and stat.st_ino == ino:
            return False
        try:
            self.index_file(Path(path), thread_id)
        except (InvalidRequest, Internal):
            return False
        return True

    def refresh(self, light: bool = False) -> None:
        """Bring the index up to date before a query (``light``: only look for new files)."""
        if self.closed:
            raise InvalidRequest("the store is closed")
        try:
            self.catch_up(light)
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                raise Internal(f"index {self.layout.index_db} failed: {exc}") from None
            # The index is only a cache of the files: a corrupt one is thrown away and rebuilt.
            self.index.recreate()
            self.rebuild()
            self.catch_up()

    def catch_up(self, light: bool = False) -> None:
        if light:
            self.scan_dirs()
            return
        self.take_dirty()
        self.scan_dirs()
        self.sync_names()
        self.sweep()

    def row_for(self, thread_id: str) -> IndexRow | None:
        """The up-to-date row of a thread (None when no rollout is known)."""
        self.refresh()
        writer = self.live_writer(thread_id)
        row = self.index.get(thread_id)
        if writer is not None and not writer.materialized and row is None:
            return None
        if row is None:
            return None
        if not os.path.exists(row.path):
            self.index.delete(thread_id)
            return None
        if writer is None:
            return self.index_file(Path(row.path), thread_id, row)
        return row

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> ReindexReport:
        self.take_dirty()
        self.index.reset()
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
                row = self.index.get(thread_id_from_name(path.name) or "")
                if row is not None and row.path != str(path) and not self.layout.is_archived(Path(row.path)):
                    continue
                counts: list[int] = []
                self.index_file(path, skipped=counts)
                count += 1
                skipped += sum(counts)
            except (InvalidRequest, Internal):
                unreadable += 1
            if progress is not None:
                progress(number, total)
        self.scan_dirs_mark_all()
        self.sync_names()
        return ReindexReport(threads=count, skipped_lines=skipped, unreadable_files=unreadable)

    def scan_dirs_mark_all(self) -> None:
        for root, depth in ((self.layout.sessions, 3), (self.layout.archived, 0)):
            stack = [(root, depth)]
            while stack:
                directory, level = stack.pop()
                stat = stat_or_none(directory)
                if stat is None:
                    continue
                if level == 0:
                    self.index.set_dir(str(directory), stat.st_mtime_ns)
                    continue
                try:
                    stack.extend(
                        (Path(e.path), level - 1) for e in os.scandir(directory) if e.is_dir(follow_symlinks=False)
                    )
                except OSError:
                    continue

    def page_query(
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
        return self.index.query(sql, [*values, limit])

    def page(
        self, params: ListThreadsParams | SearchThreadsParams, where: list[str], args: list[Any]
    ) -> tuple[list[tuple[Any, ...]], str | None]:
        """One page of index rows in the requested order, and the cursor after it (if more)."""
        rows = self.fresh_page(
            lambda: self.page_query(
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

    def fresh_page(self, run: Callable[[], list[tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
        """Run a page query, re-index any returned thread whose file changed, and re-run once."""
        rows = run()
        changed = False
        for _num, thread_id, path, size, mtime_ns, ino, *_ in rows:
            changed |= self.check_row(thread_id, path, size, mtime_ns, ino)
        return run() if changed else rows

    def store_overrides(self, thread_id: str, path: Path, summary: ThreadSummary, patch: ThreadMetadataPatch) -> None:
        """Keep the fields of ``patch`` that differ from what the rollout itself says.

        The rollout is the truth for derived facts (preview, token usage, model, ...): a patch that
        repeats them — what ``LiveThread`` sends after each append — stores nothing, so a later
        append by any program still shows through. A value that differs is an explicit override
        and stays (``updated_at`` only ever moves forward); patching a field back to the derived
        value removes its override."""
        derived = self.compose(thread_id, path, summary, stat_or_none(path), overrides=False)
        current = self.index.overrides(thread_id)
        updated = reconcile_overrides(current, patch, derived)
        if updated != current:
            with self.index.transaction():
                self.index.set_overrides(thread_id, updated)


def ordinal(item: Item, index: int) -> int:
    """A line's ``ordinal`` (newer Codex files), or its position."""
    value = item.get("ordinal")
    return value if isinstance(value, int) and not isinstance(value, bool) else index


def mtime_ns(path: Path) -> int | None:
    stat = stat_or_none(path)
    return stat.st_mtime_ns if stat else None


def stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None
