"""The catalog: the local store's index, kept in step with the rollout files of one home.

The rollout files are the truth; the index (:mod:`.index`) is a cache of what they say, brought
up to date before every query by a pipeline of parts that do not read each other's state:

* the scanner (:mod:`.scanner`) looks at what other programs did (directory changes, reported
  by the kernel where it can or found by modification times; appends; renames) and reports it as
  values (:mod:`.changes`);
* the indexer (:mod:`.indexer`) is the one component that writes what the files say into the
  index: it applies those values, and takes what this process's own writers appended directly
  from them (no file reads);
* the background fill (:mod:`.background`) indexes directories never indexed, and large amounts
  of new rollouts, on a thread of its own: a query that needs rollouts it has not reached yet
  awaits them, one whose answer is already decided does not.

The catalog passes the values between them. Listing and search cost therefore depend on the page
size, not on the number of threads.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Final

from threadstore._backends.local.background import Background
from threadstore._backends.local.files import stat_or_none
from threadstore._backends.local.fill import Fill
from threadstore._backends.local.index import Index, IndexRow, PageQuery, PageRow, is_corruption, is_full
from threadstore._backends.local.indexer import Indexer
from threadstore._backends.local.layout import Layout, is_compressed, thread_id_from_name
from threadstore._backends.local.rollout import materialize_plain, read_resolved, read_rollout
from threadstore._backends.local.scanner import Scanner
from threadstore._backends.local.writer import LocalWriter
from threadstore._contract.features import ReindexReport
from threadstore._contract.patch import ThreadMetadataPatch, reconcile_overrides
from threadstore._contract.types import StoredThread
from threadstore._rollout.items import Item
from threadstore._rollout.jsonl import RolloutChunk
from threadstore._rollout.summary import FOLD_VERSION, ThreadSummary
from threadstore.errors import Internal, InvalidRequest, ThreadStoreError

__all__ = ["Catalog"]

_log: Final = logging.getLogger("threadstore.local")


class Catalog:
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
        self.live_writer = live_writer
        #: Writers whose appends the index has not taken yet.
        self.dirty: dict[str, LocalWriter] = {}
        #: Directory changes made by this process: path -> (mtime before, mtime after).
        self.own_dirs: dict[str, tuple[int, int]] = {}
        dropped = index.drop_stale(FOLD_VERSION)
        if dropped:
            _log.info("%d index rows were made by an older fold: their rollouts are indexed again", dropped)
        self.indexer = Indexer(
            layout, index, default_model_provider=default_model_provider, live_writer=live_writer, find_path=self.find_path
        )
        self.indexer.progress = index_progress
        self.background = Background(
            layout, index.path, default_provider=default_model_provider, live_writer=live_writer
        )
        self.scanner = Scanner(layout, index, self.background, lambda thread_id: live_writer(thread_id) is not None)
        self._texts_checked = False
        #: Set when the store closes: queries are refused, closing writers stay dirty.
        self.stopped = False

    @property
    def index_progress(self) -> Callable[[int, int], None] | None:
        """Called with (done, total) while new rollouts are being indexed."""
        return self.indexer.progress

    @index_progress.setter
    def index_progress(self, callback: Callable[[int, int], None] | None) -> None:
        self.indexer.progress = callback

    @property
    def fill(self) -> Fill | None:
        """The background fill, while one runs."""
        return self.background.fill

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
                self.indexer.index_writer(writer)
        except (sqlite3.Error, ThreadStoreError):
            self.dirty[writer.thread_id] = writer  # the next query retries

    # -- rollouts --------------------------------------------------------------------------------

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
            self.indexer.index_file(plain, thread_id)
        return plain

    def compose(
        self, thread_id: str, path: Path, summary: ThreadSummary, stat: os.stat_result | None, *, overrides: bool = True
    ) -> StoredThread:
        """The StoredThread a rollout describes, with names (and overrides) applied."""
        return self.indexer.compose(thread_id, path, summary, stat, overrides=overrides)

    def index_file(self, path: Path, thread_id: str | None = None) -> IndexRow:
        """Bring the row of one rollout up to date with the file."""
        return self.indexer.index_file(path, thread_id)

    def after_move(self, path: Path, thread_id: str) -> StoredThread:
        """The thread whose rollout was just moved to ``path``, indexed there when the index can
        take it (on a full disk the move stands, and the next scan indexes it)."""
        try:
            return self.indexer.index_file(path, thread_id).thread()
        except sqlite3.DatabaseError as exc:
            if not is_full(exc):
                raise
            _log.warning("index %s is full; %s is indexed later", self.layout.index_db, path)
            summary = ThreadSummary(thread_id)
            chunk = self.read_items(path)
            summary.add_all(chunk.items, chunk.timestamps)
            return self.compose(thread_id, path, summary, stat_or_none(path))

    # -- keeping the index in step ---------------------------------------------------------------

    def take_dirty(self) -> None:
        """Move what in-process writers appended into the index (no file reads needed)."""
        if not self.dirty:
            return
        dirty, self.dirty = self.dirty, {}
        with self.index.transaction():
            for writer in dirty.values():
                self.indexer.index_writer(writer)

    def refresh(self, light: bool = False) -> None:
        """Bring the index up to date before a query (``light``: only look for new files).

        On a full disk the index cannot take what changed: the query is answered from the index
        as it is (what other programs changed meanwhile shows once there is space again).
        Rollouts handed to the background fill may still be missing afterwards: a query that
        needs them awaits them (:meth:`settle`)."""
        if self.stopped:
            raise InvalidRequest("the store is closed")
        try:
            self._catch_up(light)
        except sqlite3.DatabaseError as exc:
            if is_full(exc):
                _log.warning("index %s is full; answering from it as it is", self.layout.index_db)
                return
            if not is_corruption(exc):
                raise
            # The index is only a cache of the files: a corrupt one is thrown away and rebuilt.
            self.background.stop()
            self.index.recreate()
            self.scanner.forget_state()
            self._texts_checked = False
            self._catch_up()

    def _catch_up(self, light: bool = False) -> None:
        self.take_fill_results()
        if not self._texts_checked:
            # Texts a bulk fill stored without their trigram index, the process ending first.
            self._texts_checked = True
            if not self.background.running and self.index.has_pending_texts():
                self._start_fill([])
        if not light:
            self.take_dirty()
            names = self.scanner.names()
            if names is not None:
                self.indexer.apply_names(names)
        own, self.own_dirs = self.own_dirs, {}
        changes = self.scanner.scan(own)
        for directory, mtime in self.indexer.apply(changes):
            self.scanner.learn(directory, mtime)
        if changes.fill:
            self._start_fill(changes.fill)
        if not light:
            for check in self.scanner.sweep():
                self.indexer.check_row(check.thread_id, check.file)
                self.scanner.checked(check.num)

    def _start_fill(self, directories: list[str]) -> None:
        """Have the background fill index ``directories`` (a new fill when none runs)."""
        if self.background.add(directories):
            return
        self.take_fill_results()
        self.background.start(directories)

    def take_fill_results(self) -> None:
        """Learn the directories the fill recorded; once it ended, the next scan walks the whole
        tree (raising what made it fail: the next query starts a fill for what is left)."""
        try:
            recorded, finished = self.background.results()
        except BaseException:
            self.scanner.after_fill()
            raise
        for directory, mtime in recorded:
            self.scanner.learn(directory, mtime)
        if finished:
            self.scanner.after_fill()

    async def settle(
        self,
        query: PageQuery | None = None,
        *,
        archived: bool | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Await the background fill until the index answers ``query`` as the complete index
        would; without a query, until it indexed every rollout of the ``archived`` collection
        (both when None). ``progress`` (default: ``index_progress``) hears how far it got."""
        ended = await self.background.settle(
            self.index.page, query, archived=archived, progress=progress or self.index_progress
        )
        if ended:
            self.take_fill_results()

    async def rebuild(self, progress: Callable[[int, int], None] | None = None) -> ReindexReport:
        """Rebuild the index from the files (``progress(done, total)`` as rollouts are read)."""
        self.take_dirty()
        self.background.stop()
        self.index.reset()
        self.scanner.forget_state()
        names = self.scanner.names()
        if names is not None:
            self.indexer.apply_names(names)
        self._start_fill(self.scanner.all_directories())
        fill = self.background.fill
        assert fill is not None
        await self.settle(progress=progress)
        return ReindexReport(threads=fill.threads, skipped_lines=fill.skipped_lines, unreadable_files=fill.unreadable)

    # -- queries ---------------------------------------------------------------------------------

    async def exists(self, thread_id: str) -> bool:
        """Whether the home has a rollout of ``thread_id`` (or this store is writing one)."""
        if thread_id in self.dirty or self.index.get(thread_id) is not None:
            return True
        return await self.background.has(thread_id)

    async def row_for(self, thread_id: str) -> IndexRow | None:
        """The up-to-date row of a thread (None when no rollout is known). A thread whose
        rollout the fill has not reached yet is indexed here at once."""
        self.refresh()
        writer = self.live_writer(thread_id)
        row = self.index.get(thread_id)
        if row is None and writer is None:
            path = await self.background.claim(thread_id)
            if path is not None:
                try:
                    row = self.indexer.index_file(Path(path), thread_id)
                except (InvalidRequest, Internal):
                    row = None
        if row is None:
            return None
        if not os.path.exists(row.path):
            self.index.delete(thread_id)
            return None
        if writer is None:
            try:
                return self.indexer.index_file(Path(row.path), thread_id, row)
            except sqlite3.DatabaseError as exc:
                if not is_full(exc):
                    raise
        return row

    def page(self, query: PageQuery) -> list[PageRow]:
        """A page query whose rows are true to the files: any returned thread whose file changed
        since it was indexed is indexed again, and the query run once more. (Where the scanner's
        watcher reports writes, a row needs the check only once: see
        :meth:`~.scanner.Scanner.needs_check`.)"""
        rows = self.index.page(query)
        changed = False
        trusted = self.scanner.trusted
        for row in rows:
            if self.scanner.needs_check(row.num, row.path, trusted):
                changed |= self.indexer.check_row(row.thread_id, row.file)
                self.scanner.checked(row.num)
        return self.index.page(query) if changed else rows

    # -- metadata --------------------------------------------------------------------------------

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

    def store_overrides(self, thread_id: str, path: Path, summary: ThreadSummary, patch: ThreadMetadataPatch) -> None:
        """Keep the fields of ``patch`` that differ from what the rollout itself says (see
        :func:`~threadstore._contract.patch.reconcile_overrides`)."""
        derived = self.compose(thread_id, path, summary, stat_or_none(path), overrides=False)
        current = self.index.overrides(thread_id)
        updated = reconcile_overrides(current, patch, derived)
        if updated != current:
            with self.index.transaction():
                self.index.set_overrides(thread_id, updated)

    def forget(self, thread_id: str) -> None:
        """Drop every trace of a deleted thread from the index."""
        self.dirty.pop(thread_id, None)
        self.background.take(thread_id)
        with self.index.transaction():
            self.index.forget_thread(thread_id)

    def close(self) -> None:
        """Stop the background work (the fill, the watcher)."""
        self.background.stop()
        self.scanner.close()

