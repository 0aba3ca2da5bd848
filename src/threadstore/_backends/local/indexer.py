"""The one component that writes what the files say into the index: a rollout's row (read
incrementally when it only grew), a live writer's row (from what it appended, no file read),
the checks of rows against their files, and the changes the scanner reports
(:class:`~.changes.Changes`, :class:`~.changes.NameUpdate`).

Every method runs in the caller's thread (the event loop's, or the store's blocking lane) and
commits its own transactions; what a method returns says what it recorded, so the caller can
tell the scanner (:meth:`~.scanner.Scanner.learn`) without the two reading each other's state.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Final

from threadstore._backends.local.changes import Changes, DirectoryScan, NameUpdate
from threadstore._backends.local.extract import Facts, compose_thread, read_facts
from threadstore._backends.local.files import stat_or_none
from threadstore._backends.local.index import FileState, Index, IndexRow
from threadstore._backends.local.layout import Layout, is_compressed, thread_id_from_name
from threadstore._backends.local.rollout import UNREADABLE, read_first_line
from threadstore._backends.local.writer import LocalWriter
from threadstore._contract.types import StoredThread
from threadstore._ids import validate_thread_id
from threadstore._rollout.summary import ThreadSummary
from threadstore.errors import Internal, InvalidRequest

__all__ = ["BATCH", "Indexer", "Recorded"]

_log: Final = logging.getLogger("threadstore.local")

#: New rollouts of a directory are indexed in transactions of this many, short enough not to
#: hold other processes' writers back for long.
BATCH: Final = 256

Recorded = list[tuple[str, int | None]]
"""Directories whose state the index recorded (None: forgotten), for the scanner to learn."""


class Indexer:
    """Writes the index of one home (see the module documentation). ``live_writer(thread_id)``
    gives this process's live writer of a thread, if any; ``find_path(thread_id)`` the rollout
    of a thread (for forks by reference)."""

    def __init__(
        self,
        layout: Layout,
        index: Index,
        *,
        default_model_provider: str,
        live_writer: Callable[[str], LocalWriter | None],
        find_path: Callable[[str], Path | None],
    ) -> None:
        self.layout = layout
        self.index = index
        self.default_model_provider = default_model_provider
        self.live_writer = live_writer
        self.find_path = find_path
        #: Called with (done, total) while new rollouts are being indexed.
        self.progress: Callable[[int, int], None] | None = None

    # -- one thread ------------------------------------------------------------------------------

    def compose(
        self, thread_id: str, path: Path, summary: ThreadSummary, stat: os.stat_result | None, *, overrides: bool = True
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

    def read_facts(self, path: Path, thread_id: str, since: tuple[ThreadSummary, int] | None = None) -> Facts:
        """:func:`~.extract.read_facts`, fork references resolved through the index."""
        facts = read_facts(path, thread_id, since, self.find_path)
        if facts.skipped and since is None:
            _log.warning("skipped %d unreadable line(s) in %s", facts.skipped, path)
        return facts

    def index_file(
        self, path: Path, thread_id: str | None = None, row: IndexRow | None = None, skipped: list[int] | None = None
    ) -> IndexRow:
        """Bring the row of one rollout up to date with the file (incrementally when it grew).
        The number of unreadable lines found is appended to ``skipped`` when given."""
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise InvalidRequest(f"failed to resolve rollout path `{path}`: file does not exist") from None
        except OSError as exc:
            raise Internal(f"failed to stat rollout {path}: {exc}") from None
        thread_id = thread_id or thread_id_from_name(path.name) or self._id_inside(path)
        if row is None:
            row = self.index.get(thread_id)
        path_str = str(path)
        same_file = row is not None and row.path == path_str and row.ino == stat.st_ino
        if same_file and row is not None and row.file_size == stat.st_size and row.mtime_ns == stat.st_mtime_ns:
            return row
        incremental = same_file and row is not None and stat.st_size >= row.file_size and not is_compressed(path)
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

    def _id_inside(self, path: Path) -> str:
        first = read_first_line(path)
        meta_id = (first or {}).get("payload", {}).get("id") if first else None
        if not isinstance(meta_id, str):
            raise InvalidRequest(f"rollout `{path}` has no session metadata")
        return validate_thread_id(meta_id)

    def index_writer(self, writer: LocalWriter) -> None:
        """The row of a live writer's thread, from what it appended (in the caller's
        transaction)."""
        stat = stat_or_none(writer.path)
        if stat is None:
            return
        thread = self.compose(writer.thread_id, writer.path, writer.summary, stat)
        texts, writer.new_texts = writer.new_texts, []
        known = self.index.location(writer.thread_id)
        edited = writer.texts_edited
        if edited:  # a history edit: the thread's texts are read again (some may be gone)
            texts = self.read_facts(writer.path, writer.thread_id).texts
            writer.texts_taken(texts)
        self.index.upsert(
            thread=thread,
            path=str(writer.path),
            archived=self.layout.is_archived(writer.path),
            summary=writer.summary,
            file_size=writer.size,
            mtime_ns=stat.st_mtime_ns,
            ino=stat.st_ino,
            new_texts=texts,
            reset_texts=edited or (known is not None and known[1] != stat.st_ino),
        )

    def check_row(self, thread_id: str, state: FileState) -> bool:
        """Index one row again if its file changed since ``state``; True when it did."""
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
        except UNREADABLE:
            return False
        return True

    def check_path(self, path: str) -> None:
        """Index the rollout at ``path`` again if it is indexed there and changed."""
        thread_id = thread_id_from_name(os.path.basename(path))
        row = self.index.get(thread_id) if thread_id is not None else None
        if row is not None and row.path == path:
            self.check_row(row.thread_id, row.file)

    # -- what the scanner found ------------------------------------------------------------------

    def apply(self, changes: Changes) -> Recorded:
        """Apply a scan's findings, in the order :mod:`.changes` gives (``fill`` aside: the
        caller hands those directories to the background fill). Returns what was recorded."""
        recorded: Recorded = []
        if changes.record:
            with self.index.transaction():
                for directory, mtime in changes.record:
                    self.index.set_dir(directory, mtime)
            recorded.extend(changes.record)
        for directory in changes.vanished:
            self._vanished(directory)
            recorded.append((directory, None))
        for scan in changes.scans:
            self._apply_scan(scan)
            if scan.record:
                recorded.append((scan.directory, scan.mtime_ns))
        for path in changes.written:
            self.check_path(path)
        return recorded

    def _vanished(self, directory: str) -> None:
        """A directory that is gone: forget its rows (but those of threads written here)."""
        with self.index.transaction():
            for path, thread_id in self.index.paths_under(directory).items():
                if not os.path.exists(path) and self.live_writer(thread_id) is None:
                    self.index.delete(thread_id)
            self.index.forget_dir(directory)

    def _apply_scan(self, scan: DirectoryScan) -> None:
        with self.index.transaction():
            for path, thread_id in scan.gone:
                location = self.index.location(thread_id)
                if location is not None and location[0] == path and self.live_writer(thread_id) is None:
                    self.index.delete(thread_id)
        for start in range(0, len(scan.new), BATCH):
            with self.index.transaction():
                for path, thread_id in scan.new[start : start + BATCH]:
                    self._index_new_file(Path(path), thread_id)
            if self.progress is not None:
                self.progress(min(start + BATCH, len(scan.new)), len(scan.new))
        if scan.record:
            with self.index.transaction():
                self.index.set_dir(scan.directory, scan.mtime_ns)

    def _index_new_file(self, path: Path, thread_id: str) -> None:
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
        except UNREADABLE:
            return

    def apply_names(self, update: NameUpdate) -> None:
        """Store what ``session_index.jsonl`` says now, and recompose the threads whose name
        changed."""
        with self.index.transaction():
            changed = self.index.set_names(update.names, replace=update.replace)
            for key, value in update.meta.items():
                self.index.set_meta(key, value)
            for thread_id in changed:
                row = self.index.get(thread_id)
                if row is not None:
                    path = Path(row.path)
                    self.index.update_thread_json(self.compose(thread_id, path, row.summary, stat_or_none(path)))
