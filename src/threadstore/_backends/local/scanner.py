"""Finding what other programs did to a home: new, moved and removed rollouts (through
directory modification times), appends (a round-robin sweep of the rows), renames in
``session_index.jsonl``. The scanner only looks; it reports what it found as values
(:mod:`.changes`), which the indexer applies (many new rollouts go to the background fill).

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
from collections.abc import Callable
from typing import Final, Protocol

from threadstore._backends.local.changes import Changes, DirectoryScan, NameUpdate, RowCheck
from threadstore._backends.local.files import stat_or_none
from threadstore._backends.local.index import Index
from threadstore._backends.local.layout import Layout, is_compressed, logical_path, thread_id_from_name
from threadstore._backends.local.names import read_bytes_at, read_names
from threadstore._watch import Watcher, open_watcher

__all__ = ["INLINE_DIRS", "INLINE_FILES", "SWEEP_BUDGET", "FillView", "Scanner", "list_rollouts"]

SWEEP_BUDGET: Final = 64
#: At most this many directories the index never saw are scanned at once; more go to the fill.
INLINE_DIRS: int = 8
#: A directory with more new rollouts than this goes to the fill.
INLINE_FILES: int = 256


class FillView(Protocol):
    """What the scanner needs to know of the background fill."""

    @property
    def running(self) -> bool:
        """Whether a fill is running."""
        ...

    def owns(self, directory: str) -> bool:
        """Whether ``directory`` is the running fill's to index."""
        ...


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
    """The discovery work of one home (see the module documentation). ``is_live(thread_id)``
    says whether this process writes the thread (its rows are never dropped here)."""

    def __init__(self, layout: Layout, index: Index, fill: FillView, is_live: Callable[[str], bool]) -> None:
        self.layout = layout
        self.index = index
        self.fill = fill
        self.is_live = is_live
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

    def learn(self, directory: str, mtime_ns: int | None) -> None:
        """The index is now in step with ``directory`` as it was at ``mtime_ns`` (None: the
        directory is gone from it)."""
        if mtime_ns is None:
            self.known().pop(directory, None)
        else:
            self.known()[directory] = mtime_ns

    def scan(self, own_dirs: dict[str, tuple[int, int]]) -> Changes:
        """What changed since the last scan: rollouts added, moved or removed by anyone (and,
        told by the watcher, rollouts written to). ``own_dirs`` are the directory changes this
        store made itself (path → (mtime before, mtime after))."""
        changes = Changes()
        known = self.known()
        for key, (before, after) in own_dirs.items():
            if known.get(key) == before:
                changes.record.append((key, after))
                known[key] = after
        watcher = self._watcher()
        if watcher is not None and self._watched:
            found = watcher.changes()
            if found is not None:
                for directory in sorted(found.directories):
                    self._walk(directory, changes, watch=True)
                changes.written.extend(found.files)
                return changes
            self.restart_sweep()  # the kernel's queue overflowed: look at everything again
        armed = watcher is not None and watcher.armed
        looked = self._walk(None, changes, watch=armed)
        if watcher is not None and not armed and not watcher.arming and not self.fill.running:
            # (Not while a fill reads the newest rollouts: the kernel's work would slow it.)
            watcher.arm(looked)
        watched = armed and watcher is not None and watcher.healthy
        if watched and not self._watched:
            self.restart_sweep()  # rows checked before the watches were set count no more
        self._watched = watched
        return changes

    def _watcher(self) -> Watcher | None:
        if self._watch is None and not self._watch_tried:
            self._watch_tried = True
            self._watch = open_watcher(str(self.layout.home))
        return self._watch if self._watch is not None and self._watch.healthy else None

    def _walk(self, start: str | None, changes: Changes, *, watch: bool) -> list[str]:
        """Stat the directories of the tree (all, or those under ``start``), with ``watch``
        watching each before it is looked at; list again those whose time moved; report the
        day directories that changed and those that went away. Returns the directories looked
        at."""
        known = self.known()
        watcher = self._watcher() if watch else None
        looked: list[str] = []
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
                if not self.fill.owns(directory):
                    unknown.append(directory)
                return
            stat = look(directory)
            if stat is None:
                return
            seen.add(directory)
            if self.fill.owns(directory):
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
            changes.vanished.append(key)
        for directory, mtime in changed:
            self._scan_dir(directory, mtime, changes)
        if len(unknown) > INLINE_DIRS:
            changes.fill.extend(unknown)
        else:
            for directory in unknown:
                stat = stat_or_none(directory)
                if stat is not None:
                    self._scan_dir(directory, stat.st_mtime_ns, changes)
        return looked

    def _scan_dir(self, directory: str, mtime_ns: int, changes: Changes) -> None:
        """How ``directory`` as it was at ``mtime_ns`` (stat before listing) differs from the
        index: the rollouts that appeared and those that left. Files the index already knows
        are not read here (appends to them are found by the per-query checks), so a rescan
        costs one listing; a directory with many new files goes to the fill."""
        on_disk = list_rollouts(directory)
        if on_disk is None:
            return
        indexed = self.index.paths_under(directory)
        new = sorted((p, t) for p, t in on_disk.items() if p not in indexed)
        gone = [(p, t) for p, t in indexed.items() if p not in on_disk]
        if len(new) > INLINE_FILES:
            changes.fill.append(directory)
            changes.scans.append(DirectoryScan(directory, mtime_ns, [], gone, record=False))
            return
        changes.scans.append(DirectoryScan(directory, mtime_ns, new, gone))

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
            and not self.fill.running
        )

    def needs_check(self, num: int, path: str, trusted: bool | None = None) -> bool:
        """Whether a row a page returns must be checked against its file: unless the watcher
        reports writes to it and it was checked (by a page or the sweep) since it does.
        (``trusted``: :attr:`trusted`, when the caller has it.)"""
        if trusted is None:
            trusted = self.trusted
        if not trusted and (
            not self._watched or self._watch is None or not self._watch.healthy or self.fill.running
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

    # -- names and the sweep ---------------------------------------------------------------------

    def names(self) -> NameUpdate | None:
        """What ``session_index.jsonl`` says that the index does not know yet (None: nothing).
        Codex and this store only append to it; a file that is another file, did not grow, or
        no longer ends its old part with the last bytes read was rewritten: it is read whole."""
        path = self.layout.session_index
        stat = stat_or_none(path)
        state = f"{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}" if stat else ""
        if self.index.get_meta("names_state") == state:
            return None
        offset = int(self.index.get_meta("names_offset") or 0)
        tail = bytes.fromhex(self.index.get_meta("names_tail") or "")
        if (
            stat is None
            or self.index.get_meta("names_ino") != str(stat.st_ino)
            or stat.st_size <= offset
            or read_bytes_at(path, offset - len(tail), len(tail)) != tail
        ):
            offset = 0
        names, end = read_names(path, offset)
        meta = {
            "names_offset": str(end),
            "names_ino": str(stat.st_ino) if stat else "",
            "names_tail": read_bytes_at(path, max(0, end - 64), min(end, 64)).hex(),
            "names_state": state,
        }
        return NameUpdate(names, offset == 0, meta)

    def sweep(self) -> list[RowCheck]:
        """A few rows to check for appends by other programs (round robin, one batch per query),
        until the watcher is trusted. The caller reports each check (:meth:`checked`)."""
        if self.trusted:
            return []
        rows = self.index.files_after(self.sweep_after, SWEEP_BUDGET)
        if len(rows) < SWEEP_BUDGET:
            self.sweep_after = 0
            if self._watched and not self.fill.running:
                self._sweeping = False
        if rows:
            self.sweep_after = max(self.sweep_after, rows[-1][0])
        return [RowCheck(num, thread_id, state) for num, thread_id, state in rows]

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
