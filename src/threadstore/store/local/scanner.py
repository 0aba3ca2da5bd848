"""Finding what other programs did to a home: new, moved and removed rollouts (through
directory modification times), appends (a round-robin sweep of the rows), renames in
``session_index.jsonl``, and a full rebuild of the index from the files."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ...errors import Internal, InvalidRequest
from .files import stat_or_none
from .index import Index
from .layout import Layout, is_compressed, logical_path, thread_id_from_name
from .names import read_bytes_at, read_names

if TYPE_CHECKING:
    from .catalog import Catalog

__all__ = ["SWEEP_BUDGET", "ReindexReport", "Scanner"]

SWEEP_BUDGET: Final = 64
_INDEX_BATCH: Final = 256


@dataclass(frozen=True, slots=True)
class ReindexReport:
    """What a rebuild of the index found."""

    threads: int
    skipped_lines: int
    unreadable_files: int


class Scanner:
    """The discovery work of one :class:`~.catalog.Catalog`."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.layout: Layout = catalog.layout
        self.index: Index = catalog.index
        self.sweep_after = 0

    def scan_dirs(self) -> None:
        """Index rollouts added, moved or removed by anyone since the last scan."""
        known = self.index.dir_mtimes()
        own, self.catalog.own_dirs = self.catalog.own_dirs, {}
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
                if not os.path.exists(path) and self.catalog.live_writer(thread_id) is None:
                    self.index.delete(thread_id)
            self.index.forget_dir(key)

    def scan_dir(self, directory: Path) -> None:
        """Index the rollouts that appeared in ``directory`` and forget those that left it.

        Files the index already knows are not read here (appends to them are found by the
        per-query checks), so a rescan costs one directory listing plus the new files."""
        on_disk: dict[str, str] = {}
        try:
            for entry in os.scandir(directory):
                if entry.name.endswith((".jsonl", ".jsonl.zst")) and entry.is_file(follow_symlinks=False):
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
                if location is not None and location[0] == path and self.catalog.live_writer(thread_id) is None:
                    self.index.delete(thread_id)
        # New files are indexed in batches: one transaction each, short enough not to hold other
        # processes' writers back for long.
        for start in range(0, len(new), _INDEX_BATCH):
            with self.index.transaction():
                for path, thread_id in new[start : start + _INDEX_BATCH]:
                    self.index_new_file(Path(path), thread_id)
            if self.catalog.index_progress is not None:
                self.catalog.index_progress(min(start + _INDEX_BATCH, len(new)), len(new))

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
        """Check a few threads per query for appends by other programs (round robin)."""
        rows = self.index.files_after(self.sweep_after, SWEEP_BUDGET)
        if len(rows) < SWEEP_BUDGET:
            self.sweep_after = 0
        for num, thread_id, state in rows:
            self.sweep_after = num
            self.catalog.check_row(thread_id, state)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> ReindexReport:
        self.catalog.take_dirty()
        self.index.reset()
        files: list[Path] = []
        for root in (self.layout.sessions, self.layout.archived):
            if root.is_dir():
                files.extend(p for p in root.rglob("*.jsonl") if thread_id_from_name(p.name) and not p.is_symlink())
                files.extend(
                    p
                    for p in root.rglob("*.jsonl.zst")
                    if thread_id_from_name(p.name) and not p.is_symlink() and not os.path.exists(logical_path(p))
                )
        skipped = unreadable = count = 0
        total = len(files)
        for number, path in enumerate(sorted(files, key=lambda p: (self.layout.is_archived(p), str(p))), 1):
            try:
                row = self.index.get(thread_id_from_name(path.name) or "")
                if row is not None and row.path != str(path) and not self.layout.is_archived(Path(row.path)):
                    continue
                counts: list[int] = []
                self.catalog.index_file(path, skipped=counts)
                count += 1
                skipped += sum(counts)
            except (InvalidRequest, Internal):
                unreadable += 1
            if progress is not None:
                progress(number, total)
        self.mark_all_dirs()
        self.sync_names()
        return ReindexReport(threads=count, skipped_lines=skipped, unreadable_files=unreadable)

    def mark_all_dirs(self) -> None:
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
