"""What the scanner found, as values: the changes other programs made to a home, which the
indexer (:mod:`.indexer`) applies to the index.

The scanner only looks (at directories, at the watcher's queue, at ``session_index.jsonl`` and at
the index); it never writes. Every write to the index of what it found goes through
:meth:`~.indexer.Indexer.apply`, in this order: directories this store changed itself and that the
index was in step with (``record``), directories that are gone (``vanished``), directory listings
that differ from the index (``scans``: rows whose rollouts left are dropped, new rollouts indexed,
then the directory recorded as in step), then files the watcher saw written (``written``). Many
new rollouts go to the background fill instead (``fill``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from threadstore._backends.local.index import FileState

__all__ = ["Changes", "DirectoryScan", "NameUpdate", "RowCheck"]


@dataclass(slots=True)
class DirectoryScan:
    """A day directory (or the archive) as listed at ``mtime_ns`` (stat before listing): the
    rollouts the index lacks (``new``) and the rows whose rollouts are no longer there
    (``gone``), each as (path, thread id). ``record``: once applied, the index is in step with
    the directory (False when its new rollouts go to the fill, which records it)."""

    directory: str
    mtime_ns: int
    new: list[tuple[str, str]] = field(default_factory=list)
    gone: list[tuple[str, str]] = field(default_factory=list)
    record: bool = True


@dataclass(slots=True)
class Changes:
    """One scan's findings (see the module documentation)."""

    record: list[tuple[str, int]] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    scans: list[DirectoryScan] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    fill: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.record or self.vanished or self.scans or self.written or self.fill)


@dataclass(frozen=True, slots=True)
class RowCheck:
    """A row to compare with its file (the sweep's, or a page's): if the file changed since the
    row was made, the row is made again."""

    num: int
    thread_id: str
    file: FileState


@dataclass(frozen=True, slots=True)
class NameUpdate:
    """What ``session_index.jsonl`` says now: the names read (thread id → name; "" = cleared)
    from ``offset`` (0: the whole file, replacing every name), and where the index's reading of
    the file now stands (``meta``: the keys the index keeps about the file)."""

    names: dict[str, str]
    replace: bool
    meta: dict[str, str]
