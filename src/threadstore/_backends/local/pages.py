"""Paginated history of the local store: a thread's turn index kept beside its rollout.

When a page of a thread is asked for, :class:`LocalPages` brings that thread's entry of the page
index (:mod:`.index.pages`) up to date with its files and serves the page from it, reading only
the lines the page needs (found through marks every few records):

* The history is read as :class:`~.lines.Segment` s: the thread's own rollout, and for a fork
  by reference the parent's first lines (resolved the way :func:`~.rollout.resolve_forks` does,
  recursively), so the records are numbered exactly as ``load_history`` returns them.
* An entry stays valid while the files are the ones it was made from: the rollout's inode (a
  renamed file, archived or unarchived, keeps its entry), the bytes just before where reading
  stopped (a rewritten file is noticed), and the parents a fork reads (the same file still).
  Otherwise it is rebuilt from scratch. A grown rollout (a live writer here, Codex elsewhere) is
  read from where reading stopped: the new lines, plus the open turn's lines again.
* A compressed rollout cannot grow (an append first makes it plain again, a new file); reading
  from inside one decompresses what lies before.

Nothing here is needed for correctness elsewhere: the page index is a cache (deleted with the
thread, emptied by ``reindex``) and may be deleted at any time.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, Final

from threadstore._backends.local.index import is_corruption
from threadstore._backends.local.index.pages import MARK_EVERY, PagesDB
from threadstore._backends.local.layout import is_compressed
from threadstore._backends.local.lines import Line, Segment, file_identity, iter_lines, iter_segments
from threadstore._backends.shared.history_pages import PagedHistory
from threadstore._rollout.forks import ordinal
from threadstore._rollout.turn_index import IndexHead, Ranges, Record, TurnIndexer, TurnSpan, drive
from threadstore.errors import Internal, InvalidRequest

__all__ = ["LocalPages"]

_log: Final = logging.getLogger("threadstore.local")
_MAX_FORK_DEPTH: Final = 16
_FINGERPRINT: Final = 64
_MARK_BATCH: Final = 256

FindPath = Callable[[str], "Path | None"]


def _fingerprint(path: Path, offset: int) -> str:
    """The bytes just before ``offset`` (hex)."""
    if offset <= 0:
        return ""
    with open(path, "rb") as f:
        f.seek(max(0, offset - _FINGERPRINT))
        return f.read(min(offset, _FINGERPRINT)).hex()


def _fork_reference(path: Path) -> tuple[int, str, int] | None:
    """(end of the first line, parent id, cut ordinal) when the rollout is a fork by reference."""
    first = next(iter_lines(path), None)
    if first is None:
        return None
    _, end, item, _ = first
    meta = item.get("payload") if item.get("type") == "session_meta" else None
    if not isinstance(meta, dict):
        return None
    parent_id, cut = meta.get("forked_from_id"), meta.get("forked_from_ordinal_exclusive")
    if not isinstance(parent_id, str) or not isinstance(cut, int) or isinstance(cut, bool):
        return None
    return end, parent_id, cut


def plan(path: Path, find_path: FindPath, depth: int = 0) -> tuple[list[Segment], list[list[Any]]]:
    """The segments a rollout's history is read through, and the parents it depends on
    ([thread id, path or None, inode or None] each)."""
    whole = [Segment(None, 0, None)]
    reference = _fork_reference(path) if depth < _MAX_FORK_DEPTH else None
    if reference is None:
        return whole, []
    first_end, parent_id, cut = reference
    parent = find_path(parent_id)
    identity = file_identity(parent) if parent is not None else None
    refs: list[list[Any]] = [[parent_id, str(parent) if parent else None, identity[0] if identity else None]]
    if parent is None or parent == path or identity is None:
        return whole, refs
    try:
        parent_segments, parent_refs = plan(parent, find_path, depth + 1)
        located = [Segment(str(parent) if s.path is None else s.path, s.start, s.end) for s in parent_segments]
        kept: list[Segment] = []
        previous = -2
        for line in iter_segments(parent, located):
            if ordinal(line.item, line.ordinal) >= cut:
                continue
            seg_path = located[line.segment].path
            if kept and previous == line.ordinal - 1 and kept[-1].path == seg_path:
                kept[-1] = Segment(seg_path, kept[-1].start, line.end)
            else:
                kept.append(Segment(seg_path, line.start, line.end))
            previous = line.ordinal
    except (OSError, InvalidRequest, Internal):
        return whole, refs  # an unreadable parent is left out, as a whole read leaves it out
    return [Segment(None, 0, first_end), *kept, Segment(None, first_end, None)], refs + parent_refs


class LocalPages:
    """The page index of one home (see the module documentation)."""

    def __init__(self, db_path: Path, find_path: FindPath) -> None:
        self.db_path = db_path
        self.find_path = find_path
        self._db: PagesDB | None = None

    @property
    def db(self) -> PagesDB:
        """The page index database, opened on first use (a store that never pages never opens
        it)."""
        if self._db is None:
            self._db = PagesDB(self.db_path)
        return self._db

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()

    def forget(self, thread_id: str) -> None:
        """Drop what is indexed of a deleted thread. Best effort: an entry left behind (a busy
        or damaged page index) no longer matches any file and is rebuilt if it is ever used."""
        if self._db is None and not self.db_path.exists():
            return
        try:
            with self.db.transaction():
                self.db.forget(thread_id)
        except (sqlite3.Error, Internal) as exc:
            _log.warning("could not drop the page index entry of deleted thread %s: %s", thread_id, exc)

    def reset(self) -> None:
        """Drop everything indexed (``reindex``)."""
        if self._db is None and not self.db_path.exists():
            return
        self.db.reset()

    async def history(self, thread_id: str, path: Path) -> PagedHistory:
        """The thread's turn index, up to date with its rollout at ``path``."""
        try:
            return await self._history(thread_id, path)
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            self.db.recreate()  # a cache: a damaged one is thrown away
            return await self._history(thread_id, path)

    async def _history(self, thread_id: str, path: Path) -> PagedHistory:
        with self.db.transaction():
            loaded = self.db.load(thread_id)
            source = loaded[1] if loaded is not None else None
            if loaded is None or source is None or not self._valid(source, path):
                segments, refs = plan(path, self.find_path)
                source = {"segments": [s.to_json() for s in segments], "refs": refs, "segment": 0, "offset": 0}
                head = IndexHead()
                num = self.db.start(thread_id, source, head)
            else:
                num, _, head = loaded
            history = _LocalHistory(self.db, num, thread_id, path, source, head)
            if self._grown(source, path):
                await history.update()
                self.db.save(num, history.source, history.head)
        return history

    def _valid(self, source: dict[str, Any], path: Path) -> bool:
        stat = os.stat(path)
        if stat.st_ino != source.get("ino") or is_compressed(path) != source.get("compressed"):
            return False
        for ref_id, ref_path, ref_ino in source["refs"]:
            found = self.find_path(ref_id)
            identity = file_identity(found) if found is not None else None
            if (str(found) if found else None) != ref_path or (identity[0] if identity else None) != ref_ino:
                return False
        if is_compressed(path):
            return bool(stat.st_size == source.get("size") and stat.st_mtime_ns == source.get("mtime_ns"))
        last = Segment.from_json(source["segments"][-1])
        offset = source["offset"]
        if source["segment"] != len(source["segments"]) - 1 or offset < last.start or stat.st_size < offset:
            return False
        return _fingerprint(path, offset) == source.get("tail")

    def _grown(self, source: dict[str, Any], path: Path) -> bool:
        """Whether the rollout has bytes not looked at yet (a torn last line is looked at again
        only once the file grows)."""
        if "ino" not in source:
            return True
        if is_compressed(path):
            return False
        return bool(os.stat(path).st_size > source["size"])


class _LocalHistory(PagedHistory):
    def __init__(
        self, db: PagesDB, num: int, thread_id: str, path: Path, source: dict[str, Any], head: IndexHead
    ) -> None:
        super().__init__(thread_id, head.turns, head.removed)
        self.db, self.num, self.path, self.source, self.head = db, num, path, source, head
        self.segments = [Segment.from_json(s) for s in source["segments"]]

    # -- bringing the entry up to date ----------------------------------------------------------

    async def update(self) -> None:
        """Index the records added since the entry was last brought up to date."""
        # Taken before reading: what another program appends meanwhile is looked at next time.
        stat = os.stat(self.path)
        last = self.db.last_span(self.num)
        indexer = TurnIndexer(self.head, [last] if last is not None else [])

        async def load(before: int) -> list[TurnSpan]:
            return self.db.spans(self.num, 0, before)

        await drive(indexer.start(), self.read, load)
        await drive(indexer.feed(self._new_records()), self.read, load)
        indexer.finish()
        self.db.replace_spans(self.num, indexer.dirty_from, [s for s in indexer.spans if s.seq >= indexer.dirty_from])
        self.head = indexer.head
        self.turns, self.removed = self.head.turns, list(self.head.removed)
        self.source.update(
            ino=stat.st_ino,
            compressed=is_compressed(self.path),
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            tail="" if is_compressed(self.path) else _fingerprint(self.path, self.source["offset"]),
        )

    def _new_records(self) -> Iterator[Record]:
        source = self.source
        marks: list[tuple[int, int, int]] = []
        lines = iter_segments(self.path, self.segments, source["segment"], source["offset"], self.head.watermark)
        line: Line | None = None
        for line in lines:
            if line.ordinal % MARK_EVERY == 0:
                marks.append((line.ordinal, line.segment, line.start))
                if len(marks) >= _MARK_BATCH:
                    self.db.add_marks(self.num, marks)
                    marks.clear()
            source["segment"], source["offset"] = line.segment, line.end
            yield line.ordinal, line.item, line.timestamp
        self.db.add_marks(self.num, marks)
        last = len(self.segments) - 1
        if source["segment"] != last:  # nothing was read from the rollout's own last segment
            source["segment"], source["offset"] = last, self.segments[last].start

    # -- PagedHistory ----------------------------------------------------------------------------

    async def spans(self, lo: int, hi: int) -> list[TurnSpan]:
        return self.db.spans(self.num, lo, hi)

    async def span_with_item(self, ordinal: int) -> TurnSpan | None:
        return self.db.span_with_item(self.num, ordinal)

    async def spans_with_items(self, seq: int, ascending: bool, limit: int) -> list[TurnSpan]:
        return self.db.spans_with_items(self.num, seq, ascending, limit)

    async def spans_of_turn(self, turn_id: str) -> list[TurnSpan]:
        return self.db.spans_of_turn(self.num, turn_id)

    async def read(self, ranges: Ranges) -> list[Record]:
        """The records of ``ranges``, each found from the nearest mark before it."""
        out: list[Record] = []
        lines: Generator[Line, None, None] | None = None
        at = -1  # the ordinal ``lines`` yields next
        try:
            for lo, hi in ranges:
                if lines is None or lo < at or lo - at > MARK_EVERY:
                    if lines is not None:
                        lines.close()
                    mark = self.db.mark_before(self.num, lo) or (0, 0, self.segments[0].start)
                    lines = iter_segments(self.path, self.segments, mark[1], mark[2], mark[0])
                    at = mark[0]
                for line in lines:
                    at = line.ordinal + 1
                    if line.ordinal >= lo:
                        out.append((line.ordinal, line.item, line.timestamp))
                    if at >= hi:
                        break
        finally:
            if lines is not None:
                lines.close()
        if len(out) != sum(hi - lo for lo, hi in ranges):
            raise Internal(f"rollout {self.path} changed while it was read")
        return out
