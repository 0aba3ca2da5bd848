"""One Codex home as a mirror follows it: where each thread's rollout is now, the names of
``session_index.jsonl``, and what changed since the last look.

Where a rollout is: ``sessions/YYYY/MM/DD/`` (active) or ``archived_sessions/`` (archived),
plain (``.jsonl``) or compressed (``.jsonl.zst``). A thread whose rollout exists in several
places at once (Codex compressing it, or moving it) is where an active, plain file says first.

Finding out what changed: with inotify (:mod:`threadstore._watch`), every directory of the home
is watched *before* it is listed, so nothing created meanwhile is missed; a directory whose
entries changed is listed again, a rollout written to is marked, a full queue means looking at
everything again. Without inotify (another system, a network file system), :meth:`Home.sweep`
compares every rollout's size and time with the last look. Either way, :meth:`Home.sweep` now
and then catches anything a watch could not report.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from threadstore._compressed import is_compressed
from threadstore._rollout.files import ARCHIVED_DIR, SESSION_INDEX, SESSIONS_DIR, thread_id_from_name
from threadstore._rollout.session_index import complete_part, parse_names
from threadstore._watch import Watcher, open_watcher

__all__ = ["Home", "SourceFile"]

_log: Final = logging.getLogger("threadstore.mirror")

#: Depth of the day directories under ``sessions/`` (``YYYY/MM/DD``).
_DAY_DEPTH: Final = 3


@dataclass(frozen=True, slots=True)
class SourceFile:
    """Where one thread's rollout is."""

    thread_id: str
    path: Path
    archived: bool

    @property
    def compressed(self) -> bool:
        return is_compressed(self.path)


def _rank(path: str, archived: bool) -> tuple[bool, bool, str]:
    return (archived, is_compressed(path), path)


class Home:
    """The rollouts of one Codex home (see the module documentation)."""

    def __init__(self, root: Path, *, watch: bool = True) -> None:
        self.root = root
        self.sessions = root / SESSIONS_DIR
        self.archived = root / ARCHIVED_DIR
        self.index = root / SESSION_INDEX
        self.watcher: Watcher | None = open_watcher(str(root)) if watch else None
        #: Rollout paths of each thread (usually one).
        self._paths: dict[str, set[str]] = {}
        #: Rollout names in each directory listed that holds rollouts.
        self._listed: dict[str, set[str]] = {}
        #: Every directory listed at least once.
        self._dirs: set[str] = set()
        #: (size, mtime) of each rollout at the last sweep.
        self._seen: dict[str, tuple[int, int]] = {}
        self.names: dict[str, str] = {}
        self._names_at = 0

    # -- where rollouts are ----------------------------------------------------------------------

    def thread_ids(self) -> list[str]:
        return list(self._paths)

    def locate(self, thread_id: str) -> SourceFile | None:
        """Where the thread's rollout is now (None: nowhere in this home)."""
        paths = self._paths.get(thread_id)
        if not paths:
            return None
        best = min(paths, key=lambda p: _rank(p, self._is_archived(p)))
        return SourceFile(thread_id, Path(best), self._is_archived(best))

    def _is_archived(self, path: str) -> bool:
        return os.path.dirname(path) == str(self.archived)

    def still_there(self, thread_id: str) -> bool:
        """Whether a rollout of the thread exists (checked on disk, not from the last look)."""
        return any(os.path.exists(path) for path in list(self._paths.get(thread_id, ())))

    # -- looking ---------------------------------------------------------------------------------

    def scan(self) -> set[str]:
        """Look at every directory of the home; the threads whose rollouts appeared, moved or
        went away since the last look."""
        changed: set[str] = set()
        self._watch(str(self.root))
        for top in (self.sessions, self.archived):
            changed |= self._list(str(top), 0 if top == self.sessions else _DAY_DEPTH)
        return changed

    def _watch(self, directory: str) -> None:
        if self.watcher is not None:
            self.watcher.watch(directory)

    def _list(self, directory: str, depth: int) -> set[str]:
        """List ``directory`` (``depth`` levels under ``sessions/``; day directories and
        ``archived_sessions`` hold rollouts) and the directories under it."""
        self._watch(directory)
        names: set[str] = set()
        changed: set[str] = set()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            entries = []
        if entries or os.path.isdir(directory):
            self._dirs.add(directory)
        else:
            self._dirs.discard(directory)
        for entry in entries:
            if depth < _DAY_DEPTH:
                if entry.is_dir(follow_symlinks=False):
                    changed |= self._list(entry.path, depth + 1)
            elif entry.name.startswith("rollout-") and thread_id_from_name(entry.name) is not None:
                names.add(entry.name)
        if depth < _DAY_DEPTH:
            return changed | self._forget_gone_dirs(directory, {e.path for e in entries if e.is_dir()})
        before = self._listed.get(directory, set())
        self._listed[directory] = names
        for name in names - before:
            changed.add(self._add(os.path.join(directory, name)))
        for name in before - names:
            changed.add(self._remove(os.path.join(directory, name)))
        return changed

    def _forget_gone_dirs(self, parent: str, present: set[str]) -> set[str]:
        """Forget the rollouts of day directories under ``parent`` that no longer exist."""
        changed: set[str] = set()
        prefix = parent + os.sep
        for directory in [d for d in self._listed if d.startswith(prefix)]:
            if not any(directory == p or directory.startswith(p + os.sep) for p in present):
                self._dirs.discard(directory)
                for name in self._listed.pop(directory):
                    changed.add(self._remove(os.path.join(directory, name)))
        return changed

    def _add(self, path: str) -> str:
        thread_id = thread_id_from_name(os.path.basename(path))
        assert thread_id is not None
        self._paths.setdefault(thread_id, set()).add(path)
        return thread_id

    def _remove(self, path: str) -> str:
        thread_id = thread_id_from_name(os.path.basename(path))
        assert thread_id is not None
        paths = self._paths.get(thread_id)
        if paths is not None:
            paths.discard(path)
            if not paths:
                del self._paths[thread_id]
        self._seen.pop(path, None)
        return thread_id

    def _depth_of(self, directory: str) -> int | None:
        """How deep ``directory`` is under ``sessions/`` (``archived_sessions``: a day's
        depth); None when it is neither."""
        if directory == str(self.archived):
            return _DAY_DEPTH
        sessions = str(self.sessions)
        if directory == sessions:
            return 0
        if directory.startswith(sessions + os.sep):
            depth = directory[len(sessions) + 1 :].count(os.sep) + 1
            return depth if depth <= _DAY_DEPTH else None
        return None

    def changes(self) -> tuple[set[str], bool, bool] | None:
        """What the watcher reported since the last call: the threads whose rollouts were
        written, moved, created or removed, whether ``session_index.jsonl`` and whether Codex's
        state database changed. None when everything must be looked at again (no watcher, or
        a full queue)."""
        if self.watcher is None:
            return None
        reported = self.watcher.changes()
        if reported is None:
            return None
        threads: set[str] = set()
        names = state = False
        root = str(self.root)
        for directory in reported.directories:
            if directory == root:
                for top in (self.sessions, self.archived):
                    if str(top) not in self._dirs and top.is_dir():
                        threads |= self._list(str(top), 0 if top == self.sessions else _DAY_DEPTH)
                names = True
                continue
            depth = self._depth_of(directory)
            if depth is not None:
                threads |= self._list(directory, depth)
        for path in reported.files:
            directory, name = os.path.split(path)
            if directory == root:
                names = names or name == SESSION_INDEX
                state = state or name.startswith("state_")
                continue
            thread_id = thread_id_from_name(name)
            if thread_id is not None and name.startswith("rollout-"):
                threads.add(thread_id)
        return threads, names, state

    def sweep(self) -> set[str]:
        """Look at every rollout's size and time (and every directory): the threads whose
        rollouts changed since the last sweep, or appeared, moved or went away."""
        changed = self.scan()
        for paths in list(self._paths.values()):
            for path in paths:
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                sig = (stat.st_size, stat.st_mtime_ns)
                if self._seen.get(path) != sig:
                    self._seen[path] = sig
                    thread_id = thread_id_from_name(os.path.basename(path))
                    if thread_id is not None:
                        changed.add(thread_id)
        return changed

    # -- names -----------------------------------------------------------------------------------

    def read_names(self) -> set[str]:
        """Read what ``session_index.jsonl`` gained (all of it again when it was rewritten);
        the ids whose name changed."""
        try:
            with open(self.index, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                start = self._names_at if size >= self._names_at else 0
                f.seek(start)
                data = complete_part(f.read())
        except FileNotFoundError:
            return set()
        except OSError as exc:
            _log.warning("cannot read %s: %s", self.index, exc)
            return set()
        found = parse_names(data)
        if start == 0 and self._names_at:
            found = {**dict.fromkeys(self.names, ""), **found}  # rewritten: entries may have gone
        self._names_at = start + len(data)
        changed = {tid for tid, name in found.items() if self.names.get(tid) != name}
        self.names.update(found)
        return changed

    def name_of(self, thread_id: str) -> str | None:
        """The thread's name by ``session_index.jsonl``: None when it names nothing for the
        thread, "" when its name was cleared."""
        return self.names.get(thread_id)

    # -- resources -------------------------------------------------------------------------------

    def fileno(self) -> int | None:
        return self.watcher.fileno() if self.watcher is not None and self.watcher.healthy else None

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.close()

    def known_paths(self) -> Iterable[str]:
        for paths in self._paths.values():
            yield from paths
