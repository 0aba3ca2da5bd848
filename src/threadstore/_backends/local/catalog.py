"""The catalog: the local store's index, kept in step with the rollout files of one home.

The rollout files are the truth; the index (:mod:`.index`) is a cache of what they say, brought
up to date before every query. What other programs do is found by the scanner (:mod:`.scanner`:
directory changes, reported by the kernel where it can or found by modification times, appends,
renames); what this process's own writers append is taken from them directly (no file reads).
Directories never indexed, and large amounts of new rollouts, go to the background fill
(:mod:`.fill`, through :mod:`.background`): a query that needs rollouts it has not reached yet
waits for them, one whose answer is already decided does not. Listing and search cost
therefore depend on the page size, not on the number of threads.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Final

from threadstore._backends.local.background import FillControl
from threadstore._backends.local.extract import Facts, compose_thread, read_facts
from threadstore._backends.local.files import stat_or_none
from threadstore._backends.local.index import FileState, Index, IndexRow, PageQuery, PageRow, is_corruption, is_full
from threadstore._backends.local.layout import Layout, is_compressed, thread_id_from_name
from threadstore._backends.local.rollout import materialize_plain, read_first_line, read_resolved, read_rollout
from threadstore._backends.local.scanner import ReindexReport, Scanner
from threadstore._backends.local.writer import LocalWriter
from threadstore._contract.patch import ThreadMetadataPatch, reconcile_overrides
from threadstore._contract.types import StoredThread
from threadstore._ids import validate_thread_id
from threadstore._rollout.items import Item
from threadstore._rollout.jsonl import RolloutChunk
from threadstore._rollout.summary import FOLD_VERSION, ThreadSummary
from threadstore.errors import Internal, InvalidRequest, ThreadStoreError

__all__ = ["Catalog", "ReindexReport"]

_log: Final = logging.getLogger("threadstore.local")


class Catalog(FillControl):
    """The index of one home and the work that keeps it true to the files (see the module
    documentation). ``live_writer`` gives this process's live writer of a thread, if any. The
    catalog is the :class:`~.writer.WriterEvents` of the store's writers."""

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
        dropped = index.drop_stale(FOLD_VERSION)
        if dropped:
            _log.info("%d index rows were made by an older fold: their rollouts are indexed again", dropped)
        self.scanner = Scanner(self)
        self.fill = None
        self._texts_checked = False
        #: Set when the store closes: queries are refused, closing writers stay dirty.
        self.stopped = False

    # -- WriterEvents ----------------------------------------------------------------------------

    def written(self, writer: LocalWriter) -> None:
        self.dirty[writer.thread_id] = writer

    def dir_changed(self, directory: Path, before_ns: int | None, after_ns: int | None) -> None:
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

    def closed(self, writer: LocalWriter) -> None:
        """A writer ended: index what it wrote now, so queries do not pay for it later."""
        if not writer.size:
            return
        self.dirty.pop(writer.thread_id, None)
        if self.stopped:
            self.dirty[writer.thread_id] = writer
            return
        try:
            with self.index.transaction():
                self.index_writer(writer)
        except (sqlite3.Error, ThreadStoreError):
            self.dirty[writer.thread_id] = writer  # the next query retries

    def parent_lines(self, thread_id: str) -> tuple[list[Item], list[str | None]] | None:
        path = self.find_path(thread_id)
        if path is None:
            return None
        try:
            chunk = read_rollout(path)
        except (InvalidRequest, Internal):
            return None
        return chunk.items, chunk.timestamps

    def find_path(self, thread_id: str) -> Path | None:
        writer = self.live_writer(thread_id)
        if writer is not None:
            return writer.path
        row = self.index.get(thread_id)
        return Path(row.path) if row is not None else None

    def read_items(self, path: Path) -> RolloutChunk:
        """The whole rollout at ``path``, fork references expanded."""
        return read_resolved(path, self.find_path)

    def plain_rollout(self, path: Path) -> Path:
        """The rollout to append to (a compressed one becomes plain first; see
        :func:`~.rollout.materialize_plain`), indexed as it now is."""
        if not is_compressed(path):
            return path
        plain = materialize_plain(path)
        thread_id = thread_id_from_name(plain.name)
        if thread_id is not None:
            self.index_file(plain, thread_id)
        return plain

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
        return compose_thread(
            thread_id,
            path,
            summary,
            stat,
            archived=self.layout.is_archived(path),
            name_entry=self.index.name_entry(thread_id),
            overrides=self.index.overrides(thread_id) if overrides else None,
            default_provider=self.default_model_provider,
        )

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
        facts = self.read_facts(path, thread_id, (row.summary, row.file_size) if incremental and row else None)
        if skipped is not None:
            skipped.append(facts.skipped)
        thread = self.compose(thread_id, path, facts.summary, facts.stat)
        with self.index.transaction():
            return self.index.upsert(
                thread=thread,
                path=path_str,
                archived=self.layout.is_archived(path),
                summary=facts.summary,
                file_size=facts.end_offset,
                mtime_ns=facts.stat.st_mtime_ns,
                ino=facts.stat.st_ino,
                new_texts=facts.texts,
                reset_texts=facts.whole,
            )

    def after_move(self, path: Path, thread_id: str) -> StoredThread:
        """The thread whose rollout was just moved to ``path``, indexed there when the index can
        take it (on a full disk the move stands, and the next scan indexes it)."""
        try:
            return self.index_file(path, thread_id).thread()
        except sqlite3.DatabaseError as exc:
            if not is_full(exc):
                raise
            _log.warning("index %s is full; %s is indexed later", self.layout.index_db, path)
            summary = ThreadSummary(thread_id)
            chunk = self.read_items(path)
            summary.add_all(chunk.items, chunk.timestamps)
            return self.compose(thread_id, path, summary, stat_or_none(path))

    def read_facts(self, path: Path, thread_id: str, since: tuple[ThreadSummary, int] | None = None) -> Facts:
        """:func:`~.extract.read_facts`, fork references resolved through the index."""
        facts = read_facts(path, thread_id, since, self.find_path)
        if facts.skipped and since is None:
            _log.warning("skipped %d unreadable line(s) in %s", facts.skipped, path)
        return facts

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
        edited = writer.texts_edited
        if edited:  # a history edit: the thread's texts are read again (some may be gone)
            texts = self.read_facts(writer.path, writer.thread_id).texts
            writer.texts_taken(texts)
        self.index.upsert(
            thread=thread,
            path=path,
            archived=self.layout.is_archived(writer.path),
            summary=writer.summary,
            file_size=writer.size,
            mtime_ns=stat.st_mtime_ns,
            ino=stat.st_ino,
            new_texts=texts,
            reset_texts=edited or (known is not None and known[1] != stat.st_ino),
        )

    def check_row(self, thread_id: str, state: FileState) -> bool:
        """Re-index one row if its file changed since ``state``; True when it did."""
        if self.live_writer(thread_id) is not None:
            return False
        try:
            stat = os.stat(state.path)
        except OSError:
            return False  # the directory scan handles removals
        if stat.st_size == state.size and stat.st_mtime_ns == state.mtime_ns and stat.st_ino == state.ino:
            return False
        try:
            self.index_file(Path(state.path), thread_id)
        except (InvalidRequest, Internal):
            return False
        return True

    def refresh(self, light: bool = False) -> None:
        """Bring the index up to date before a query (``light``: only look for new files).

        On a full disk the index cannot take what changed: the query is answered from the index
        as it is (what other programs changed meanwhile shows once there is space again).
        Rollouts handed to the background fill may still be missing afterwards: a query that
        needs them waits for them (:meth:`settle`)."""
        if self.stopped:
            raise InvalidRequest("the store is closed")
        try:
            self.catch_up(light)
        except sqlite3.DatabaseError as exc:
            if is_full(exc):
                _log.warning("index %s is full; answering from it as it is", self.layout.index_db)
                return
            if not is_corruption(exc):
                raise
            # The index is only a cache of the files: a corrupt one is thrown away and rebuilt.
            self.stop_fill()
            self.index.recreate()
            self.scanner.forget_state()
            self._texts_checked = False
            self.catch_up()

    def catch_up(self, light: bool = False) -> None:
        self.take_fill_results()
        if not self._texts_checked:
            # Texts a bulk fill stored without their trigram index, the process ending first.
            self._texts_checked = True
            if self.fill is None and self.index.has_pending_texts():
                self.start_fill([])
        if light:
            self.scanner.scan_dirs()
            return
        self.take_dirty()
        self.scanner.sync_names()
        self.scanner.scan_dirs()
        self.scanner.sweep()

    async def rebuild(self, progress: Callable[[int, int], None] | None = None) -> ReindexReport:
        """Rebuild the index from the files (``progress(done, total)`` as rollouts are read)."""
        self.take_dirty()
        self.stop_fill()
        self.index.reset()
        self.scanner.forget_state()
        self.scanner.sync_names()
        directories = self.scanner.all_directories()
        self.fill = None
        self.start_fill(directories)
        fill = self.fill
        assert fill is not None
        await self.settle(progress=progress)
        return ReindexReport(threads=fill.threads, skipped_lines=fill.skipped_lines, unreadable_files=fill.unreadable)

    def row_for(self, thread_id: str) -> IndexRow | None:
        """The up-to-date row of a thread (None when no rollout is known). A thread whose
        rollout the fill has not reached yet is indexed here at once."""
        self.refresh()
        writer = self.live_writer(thread_id)
        row = self.index.get(thread_id)
        if row is None and writer is None and self.fill is not None:
            path = self.fill.claim(thread_id)
            if path is not None:
                try:
                    row = self.index_file(Path(path), thread_id)
                except (InvalidRequest, Internal):
                    row = None
        if writer is not None and not writer.materialized and row is None:
            return None
        if row is None:
            return None
        if not os.path.exists(row.path):
            self.index.delete(thread_id)
            return None
        if writer is None:
            try:
                return self.index_file(Path(row.path), thread_id, row)
            except sqlite3.DatabaseError as exc:
                if not is_full(exc):
                    raise
        return row

    def page(self, query: PageQuery) -> list[PageRow]:
        """A page query whose rows are true to the files: any returned thread whose file changed
        since it was indexed is re-indexed, and the query run once more. (Where the scanner's
        watcher reports writes, a row needs the check only once: see
        :meth:`~.scanner.Scanner.needs_check`.)"""
        rows = self.index.page(query)
        changed = False
        trusted = self.scanner.trusted
        for row in rows:
            if self.scanner.needs_check(row.num, row.path, trusted):
                changed |= self.check_row(row.thread_id, row.file)
                self.scanner.checked(row.num)
        return self.index.page(query) if changed else rows

    def check_path(self, path: str) -> None:
        """Re-index the rollout at ``path`` if it is indexed there and changed."""
        thread_id = thread_id_from_name(os.path.basename(path))
        row = self.index.get(thread_id) if thread_id is not None else None
        if row is not None and row.path == path:
            self.check_row(row.thread_id, row.file)

    def close(self) -> None:
        """Stop the background work (the fill, the watcher)."""
        self.stop_fill()
        self.scanner.close()

    def recompose(self, row: IndexRow) -> StoredThread:
        """The thread of ``row`` composed anew (names and overrides as they are now), and
        cached in the row."""
        path = Path(row.path)
        thread = self.compose(row.thread_id, path, row.summary, stat_or_none(path))
        with self.index.transaction():
            self.index.update_thread_json(thread)
        return thread

    def merge_overrides(self, thread_id: str, patch: ThreadMetadataPatch) -> None:
        """Add ``patch`` to the thread's stored overrides (later fields win)."""
        with self.index.transaction():
            self.index.set_overrides(thread_id, self.index.overrides(thread_id).merge(patch))

    def forget(self, thread_id: str) -> None:
        """Drop every trace of a deleted thread from the index."""
        self.dirty.pop(thread_id, None)
        if self.fill is not None:
            self.fill.take(thread_id)
        with self.index.transaction():
            self.index.forget_thread(thread_id)

    def store_overrides(self, thread_id: str, path: Path, summary: ThreadSummary, patch: ThreadMetadataPatch) -> None:
        """Keep the fields of ``patch`` that differ from what the rollout itself says (see
        :func:`~threadstore._contract.patch.reconcile_overrides`)."""
        derived = self.compose(thread_id, path, summary, stat_or_none(path), overrides=False)
        current = self.index.overrides(thread_id)
        updated = reconcile_overrides(current, patch, derived)
        if updated != current:
            with self.index.transaction():
                self.index.set_overrides(thread_id, updated)
