"""Finding what other programs did to a home: new, moved and removed rollouts (through
directory modification times), appends (a round-robin sweep of the rows), renames in
``session_index.jsonl``; and handing large amounts of new rollouts to the background fill.

The scanner keeps, in memory, the directory tree it last saw: the children of ``sessions/`` and
of each year and month directory with the modification time they were listed at, and, for every
day directory and ``archived_sessions/``, the modification time the index was last brought in
step with (the ``dirs`` table). A walk stats each of these directories once: a year or month
directory whose time moved is listed again (day directories came or went); a day directory
whose time moved is listed and compared with the index; one the index never saw goes to the
fill when there are several (a first look at a home), else is scanned at once.

Where the kernel reports changes (:mod:`.watch`), the first scan walks the whole tree, watching
each directory before it looks at it, and later scans walk only the directories the watcher
names, and check the files it says were written to: a query then costs one ``read`` instead of
a ``stat`` per day directory (hundreds in a home used for a year), however old the home. Until
the watcher is trusted (a whole round of the sweep passed since it watches, no fill running) the
sweep and the checks of the rows each page returns go on as without it; rows of rollouts outside
the watched tree are always checked with their page. Without a watcher every scan walks the
whole tree.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

from threadstore._backends.local.files import stat_or_none
from threadstore._backends.local.index import Index
from threadstore._backends.local.layout import Layout, is_compressed, logical_path, thread_id_from_name
from threadstore._backends.local.names import read_bytes_at, read_names
from threadstore._contract.features import ReindexReport
from threadstore._watch import Watcher, open_watcher
from threadstore.errors import Internal, InvalidRequest

if TYPE_CHECKING:
    from threadstore._backends.local.catalog import Catalog

__all__ = ["INLINE_DIRS", "INLINE_FILES", "SWEEP_BUDGET", "ReindexReport", "Scanner", "list_rollouts"]

SWEEP_BUDGET: Final = 64
_INDEX_BATCH: Final = 256
#: At most this many directories the index never saw are scanned at once; more go to the fill.
INLINE_DIRS: int = 8
#: A directory with more new rollouts than this goes to the fill.
INLINE_FILES: int = 256


def list_rollouts(directory: str) -> dict[str, str] | None:
    """The rollouts directly in ``directory`` (path → thread id; None when it cannot be listed).
    Links are not rollouts; a plain rollout hides its compressed twin (the plain one is current)."""
    found: dict[str, str] = {}
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.endswith((".jsonl", ".jsonl.zst")) and entry.is_file(follow_symlinks=False):
                    thread_id = thread_id_from_name(entry.name)
                    if thread_id is not None:
                        found[entry.path] = thread_id
    except OSError:
        return None
    for path in [p for p in found if is_compressed(p)]:
        if logical_path(path) in found:
            del found[path]
    return found


def _subdirectories(directory: str) -> list[str] | None:
    try:
        with os.scandir(directory) as entries:
            return sorted(e.path for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        return None


class Scanner:
    """The discovery work of one :class:`~.catalog.Catalog`."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.layout: Layout = catalog.layout
        self.index: Index = catalog.index
        self.sweep_after = 0
        self._known: dict[str, int] | None = None
        #: Year and month directories (and ``sessions/``): (mtime when listed, children).
        self._tree: dict[str, tuple[int, list[str]]] = {}
        self._watch: Watcher | None = None
        self._watch_tried = False
        #: Whether the watcher watches the whole tree (since the last full walk).
        self._watched = False
        self._sweeping = True
        #: Rows checked against their files since the watcher watches the whole tree.
        self._verified: set[int] = set()

    def forget_state(self) -> None:
        """Drop what is remembered of the directories (the index was emptied)."""
        self._known = None
        self._tree = {}
        self._watched = False
        self.restart_sweep()

    def known(self) -> dict[str, int]:
        """Leaf directory → the modification time the index is in step with."""
        if self._known is None:
            self._known = self.index.dir_mtimes()
        return self._known

    def record(self, directory: str, mtime_ns: int) -> None:
        self.known()[directory] = mtime_ns
        self.index.set_dir(directory, mtime_ns)

    def learn(self, directory: str, mtime_ns: int) -> None:
        """A directory another writer of the index (the fill) recorded."""
        self.known()[directory] = mtime_ns

    def scan_dirs(self) -> None:
        """Index rollouts added, moved or removed by anyone since the last scan (and, told by
        the watcher, rollouts written to)."""
        known = self.known()
        own, self.catalog.own_dirs = self.catalog.own_dirs, {}
        for key, (before, after) in own.items():
            if known.get(key) == before:
                self.record(key, after)
        watcher = self._watcher()
        if watcher is not None and self._watched:
            changes = watcher.changes()
            if changes is not None:
                for directory in sorted(changes.directories):
                    self._walk(directory, watch=True)
                for path in changes.files:
                    self.catalog.check_path(path)
                return
            self.restart_sweep()  # the kernel's queue overflowed: look at everything again
        armed = watcher is not None and watcher.armed
        looked = self._walk(None, watch=armed)
        if watcher is not None and not armed and not watcher.arming and self.catalog.fill is None:
            # (Not while a fill reads the newest rollouts: the kernel's work would slow it.)
            watcher.arm(looked)
        watched = armed and watcher is not None and watcher.healthy
        if watched and not self._watched:
            self.restart_sweep()  # rows checked before the watches were set count no more
        self._watched = watched

    def _watcher(self) -> Watcher | None:
        if self._watch is None and not self._watch_tried:
            self._watch_tried = True
            self._watch = open_watcher(str(self.layout.home))
        return self._watch if self._watch is not None and self._watch.healthy else None

    def _walk(self, start: str | None, *, watch: bool) -> list[str]:
        """Stat the directories of the tree (all, or those under ``start``), with ``watch``
        watching each before it is looked at; list again those whose time moved; scan the day
        directories that changed; forget those that went away. Returns the directories looked at."""
        known = self.known()
        watcher = self._watcher() if watch else None
        looked: list[str] = []
        fill = self.catalog.fill
        seen: set[str] = set()
        changed: list[tuple[str, int]] = []
        unknown: list[str] = []

        def look(directory: str) -> os.stat_result | None:
            if watcher is not None:
                watcher.watch(directory)
            looked.append(directory)
            return stat_or_none(directory)

        def leaf(directory: str, listed: bool = True) -> None:
            previous = known.get(directory)
            if previous is None and listed and watcher is None:
                # Never indexed, and a directory (its parent's listing says): whoever indexes it
                # stats it first, nothing to stat here.
                if fill is None or not fill.owns(directory):
                    unknown.append(directory)
                return
            stat = look(directory)
            if stat is None:
                return
            seen.add(directory)
            if fill is not None and fill.owns(directory):
                return
            if previous is None:
                unknown.append(directory)
            elif previous != stat.st_mtime_ns:
                changed.append((directory, stat.st_mtime_ns))

        def branch(directory: str, depth: int) -> None:
            stat = look(directory)
            if stat is None:
                self._tree.pop(directory, None)
                return
            listed = self._tree.get(directory)
            if listed is None or listed[0] != stat.st_mtime_ns:
                children = _subdirectories(directory)
                if children is None:
                    return
                listed = (stat.st_mtime_ns, children)
                self._tree[directory] = listed
            for child in listed[1]:
                if depth > 1:
                    branch(child, depth - 1)
                else:
                    leaf(child)

        depth = self._depth(start) if start is not None else None
        if start is None or depth is None:
            start = None
            look(str(self.layout.home))
            branch(str(self.layout.sessions), 3)
            leaf(str(self.layout.archived), listed=False)
        elif depth == 0:
            leaf(start, listed=False)
        else:
            branch(start, depth)
        prefix = None if start is None else start.rstrip(os.sep) + os.sep
        for key in [k for k in known if k not in seen and (prefix is None or k == start or k.startswith(prefix))]:
            self._vanished(key)
        for directory, mtime in changed:
            self.scan_dir(directory, mtime)
        if len(unknown) > INLINE_DIRS:
            self.catalog.start_fill(unknown)
        else:
            for directory in unknown:
                stat = stat_or_none(directory)
                if stat is not None:
                    self.scan_dir(directory, stat.st_mtime_ns)
        return looked

    def _depth(self, directory: str) -> int | None:
        """How many levels of directories lie below ``directory`` down to the day directories
        (0: a day directory or the archive; None: the home, or outside the tree)."""
        if directory == str(self.layout.archived):
            return 0
        sessions = str(self.layout.sessions)
        if directory == sessions:
            return 3
        if not directory.startswith(sessions + os.sep):
            return None
        levels = directory[len(sessions) + 1 :].count(os.sep) + 1
        return 3 - levels if levels <= 3 else None

    # -- trust in the watcher --------------------------------------------------------------------

    @property
    def trusted(self) -> bool:
        """Whether the watcher reports every change to the home's rollouts: it watches the whole
        tree, and a whole sweep (appends made while nothing watched) ran since, with no fill
        running (a rollout read by the fill before an append reported meanwhile)."""
        return (
            self._watched
            and self._watch is not None
            and self._watch.healthy
            and not self._sweeping
            and self.catalog.fill is None
        )

    def needs_check(self, num: int, path: str, trusted: bool | None = None) -> bool:
        """Whether a row a page returns must be checked against its file: unless the watcher
        reports writes to it and it was checked (by a page or the sweep) since it does.
        (``trusted``: :attr:`trusted`, when the caller has it.)"""
        if trusted is None:
            trusted = self.trusted
        if not trusted and (
            not self._watched or self._watch is None or not self._watch.healthy or self.catalog.fill is not None
        ):
            return True
        assert self._watch is not None
        if not self._watch.watching(os.path.dirname(path)):
            return True
        return not trusted and num not in self._verified

    def checked(self, num: int) -> None:
        """The row ``num`` was checked against its file."""
        if self._watched:
            self._verified.add(num)

    def after_fill(self) -> None:
        """A fill ended: directories it owned may have changed after it listed them (the
        watcher's word on them was set aside), and rollouts it read may have grown since. The
        next scan walks the whole tree, and the sweep goes round once more."""
        self._watched = False
        self.restart_sweep()

    def restart_sweep(self) -> None:
        """Check every row once more before trusting the watcher again."""
        self._sweeping = True
        self.sweep_after = 0
        self._verified.clear()

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()

    def _vanished(self, directory: str) -> None:
        """A directory that is gone: forget its rows."""
        with self.index.transaction():
            for path, thread_id in self.index.paths_under(directory).items():
                if not os.path.exists(path) and self.catalog.live_writer(thread_id) is None:
                    self.index.delete(thread_id)
            self.index.forget_dir(directory)
        self.known().pop(directory, None)

    def scan_dir(self, directory: str, mtime_ns: int) -> None:
        """Bring the index in step with ``directory`` as it was at ``mtime_ns`` (stat before
        listing): index the rollouts that appeared and forget those that left. Files the index
        already knows are not read here (appends to them are found by the per-query checks), so
        a rescan costs one listing plus the new files; many new files go to the fill."""
        on_disk = list_rollouts(directory)
        if on_disk is None:
            return
        indexed = self.index.paths_under(directory)
        gone = [(p, t) for p, t in indexed.items() if p not in on_disk]
        new = sorted((p, t) for p, t in on_disk.items() if p not in indexed)
        with self.index.transaction():
            for path, thread_id in gone:
                location = self.index.location(thread_id)
                if location is not None and location[0] == path and self.catalog.live_writer(thread_id) is None:
                    self.index.delete(thread_id)
        if len(new) > INLINE_FILES:
            self.catalog.start_fill([directory])
            return
        # New files are indexed in batches: one transaction each, short enough not to hold other
        # processes' writers back for long.
        for start in range(0, len(new), _INDEX_BATCH):
            with self.index.transaction():
                for path, thread_id in new[start : start + _INDEX_BATCH]:
                    self.index_new_file(Path(path), thread_id)
            if self.catalog.index_progress is not None:
                self.catalog.index_progress(min(start + _INDEX_BATCH, len(new)), len(new))
        self.record(directory, mtime_ns)

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
            self.catalog.index_file(path, thread_id)
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
                        self.catalog.compose(thread_id, path_obj, row.summary, stat_or_none(path_obj))
                    )

    def sweep(self) -> None:
        """Check a few threads per query for appends by other programs (round robin), until
        the watcher is trusted."""
        if self.trusted:
            return
        rows = self.index.files_after(self.sweep_after, SWEEP_BUDGET)
        if len(rows) < SWEEP_BUDGET:
            self.sweep_after = 0
            if self._watched and self.catalog.fill is None:
                self._sweeping = False
        for num, thread_id, state in rows:
            self.sweep_after = num
            self.catalog.check_row(thread_id, state)
            self.checked(num)

    def all_directories(self) -> list[str]:
        """Every day directory of ``sessions/`` and ``archived_sessions/`` (for a rebuild)."""
        found: list[str] = []
        stack: list[tuple[str, int]] = [(str(self.layout.sessions), 3)]
        while stack:
            directory, depth = stack.pop()
            for child in _subdirectories(directory) or ():
                if depth > 1:
                    stack.append((child, depth - 1))
                else:
                    found.append(child)
        if self.layout.archived.is_dir():
            found.append(str(self.layout.archived))
        return found
