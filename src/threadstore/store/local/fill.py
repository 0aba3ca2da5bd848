"""The background fill: indexing many rollouts on a thread of its own while queries go on.

The catalog hands the fill whole directories: those the index has never seen (a first look at a
large home, a lost or rebuilt index) and those that gained many rollouts at once. The fill lists
each, indexes the rollouts the index lacks, and records the directory as seen, with the
modification time it had *before* it was listed, so anything that changed it since is found by
the catalog's next scan. A large fill reads rollouts in worker processes (:mod:`.workers`) while
its thread writes rows; a small one reads them itself.

Order, and pages before the end. Rollouts are indexed newest first: directories by the date in
their path, the files of a directory by the time in their name. A rollout's name carries its
creation time in local time, to the second, and it lies in the day directory of that date
(``sessions/YYYY/MM/DD``): Codex and this store write them so, and moves keep the name. Local
time is within 14 hours of UTC, so a rollout not indexed yet was created before the end of its
directory's date plus :data:`ZONE_SLACK_MS` (or, once its directory is listed, before its name's
time plus that): :meth:`Fill.frontier`. A newest-first page (``created_at`` descending) whose
last row — one more than the page, which also decides the next cursor — is newer than the
frontier is exactly the page the complete index gives (:meth:`Fill.answers`). Other orders, and
pages that reach past the frontier, wait. A rollout whose session_meta time is more than
``ZONE_SLACK_MS`` away from its name's breaks that rule: a page answered early can miss it, the
complete index lists it.

Concurrency. The fill writes through its own connection, one short transaction per batch of
rollouts. It only adds threads the index does not have: a thread the event loop indexed or
forgot meanwhile (:meth:`Fill.take`), or one with a live writer in this process, is left alone.
Names and overrides are read again inside each batch's transaction, and a thread whose name or
overrides changed since its row was built is composed again. :meth:`Fill.stop` ends it between
two batches; what was committed stays (the next fill skips it).
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import logging
import os
import re
import selectors
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from ...errors import Internal, InvalidRequest
from ..patch import ThreadMetadataPatch
from ..summary import ThreadSummary
from .extract import compose_thread, fold_chunk
from .index import Index, NewRow, PageQuery, PageRow, row_values
from .layout import Layout, is_compressed
from .rollout import read_resolved
from .workers import Job, Result, Worker, build_row

__all__ = ["WORKER_THRESHOLD", "ZONE_SLACK_MS", "Fill", "FillReport", "directory_bound", "file_bound"]

_log: Final = logging.getLogger("threadstore.local")

#: How far a rollout's creation time (UTC) may lie from the local time its name and directory carry.
ZONE_SLACK_MS: Final = 15 * 3600 * 1000
_NO_BOUND: Final = 1 << 62
#: A fill with at least this many rollouts to read starts worker processes.
WORKER_THRESHOLD: int = 2000
_BATCH: Final = 64
_WORKER_BATCH: Final = 128
#: Batches indexed in the fill's own thread before every directory is listed.
_EARLY_BATCHES: Final = 4
_MAX_WORKERS: Final = 2

_DAY_RE: Final = re.compile(r"(\d{4})/(\d{2})/(\d{2})$")
_NAME_RE: Final = re.compile(r"^rollout-(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})-")


def directory_bound(path: str) -> int:
    """An upper bound (ms) of the creation time of rollouts in a ``YYYY/MM/DD`` directory."""
    match = _DAY_RE.search(path.replace(os.sep, "/"))
    if match is None:
        return _NO_BOUND
    try:
        midnight = calendar.timegm((int(match[1]), int(match[2]), int(match[3]), 0, 0, 0))
    except (ValueError, OverflowError):
        return _NO_BOUND
    return (midnight + 86400) * 1000 + ZONE_SLACK_MS


def file_bound(name: str) -> int:
    """An upper bound (ms) of the creation time of the rollout named ``name``."""
    match = _NAME_RE.match(name)
    if match is None:
        return _NO_BOUND
    try:
        seconds = calendar.timegm(tuple(int(g) for g in match.groups()))
    except (ValueError, OverflowError):
        return _NO_BOUND
    return (seconds + 1) * 1000 + ZONE_SLACK_MS


@dataclass(frozen=True, slots=True)
class FillReport:
    """What a finished fill did."""

    threads: int
    skipped_lines: int
    unreadable_files: int


@dataclass(eq=False)
class _Dir:
    path: str
    archived: bool
    bound: int
    mtime: int | None = None
    gone: list[tuple[str, str]] = field(default_factory=list)
    batches_left: int = 0


@dataclass(eq=False)
class _Batch:
    directory: _Dir
    jobs: list[Job]
    bound: int


class Fill:
    """One background fill (see the module documentation). ``lister(directory)`` lists a
    directory's rollouts (path → thread id; None when it cannot be read)."""

    def __init__(
        self,
        layout: Layout,
        index_path: Path,
        *,
        default_provider: str,
        live_writer: Callable[[str], object | None],
        lister: Callable[[str], dict[str, str] | None],
    ) -> None:
        self.layout = layout
        self.index_path = index_path
        self.default_provider = default_provider
        self.live_writer = live_writer
        self.lister = lister
        self._lock = threading.Lock()
        self._todo: list[_Dir] = []
        self._owned: set[str] = set()
        self._batches: list[_Batch] = []
        self._open: set[int] = set()
        self._open_batches: dict[int, _Batch] = {}
        self._pending_ids: dict[str, str] = {}
        self._taken: set[str] = set()
        self._completed: list[tuple[str, int]] = []
        self._frontier = {False: _NO_BOUND, True: _NO_BOUND}
        self._collection_done = {False: False, True: False}
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._listed_all = threading.Event()
        self._list_request = threading.Event()
        self._stop = threading.Event()
        self.version = 0
        self.done = 0
        self.total = 0
        self.threads = 0
        self.skipped_lines = 0
        self.unreadable = 0
        self.finished = False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="threadstore-fill", daemon=True)

    # -- the event loop's side --------------------------------------------------------------------

    def start(self, directories: Sequence[str]) -> None:
        self.add(directories)
        self._thread.start()

    def add(self, directories: Sequence[str]) -> bool:
        """Take more directories (False when the fill already ended: start another)."""
        with self._lock:
            if self.finished:
                return False
            for path in directories:
                if path in self._owned:
                    continue
                archived = path == str(self.layout.archived)
                self._owned.add(path)
                self._todo.append(_Dir(path, archived, _NO_BOUND if archived else directory_bound(path)))
                self._collection_done[archived] = False
            # Active directories first, newest first; the archive last.
            self._todo.sort(key=lambda d: (d.archived, -d.bound, d.path))
            self._update_frontier()
            self._listed_all.clear()
        return True

    def owns(self, directory: str) -> bool:
        """Whether ``directory`` is the fill's until it records it."""
        with self._lock:
            return directory in self._owned

    def completed(self) -> list[tuple[str, int]]:
        """Directories recorded since the last call, with the modification time recorded."""
        with self._lock:
            done, self._completed = self._completed, []
        return done

    def take(self, thread_id: str) -> None:
        """The event loop indexes or forgets ``thread_id`` itself: leave it alone."""
        with self._lock:
            self._taken.add(thread_id)

    def claim(self, thread_id: str) -> str | None:
        """A rollout of ``thread_id`` the fill has not indexed, once every directory is listed
        (waits for that); the thread is then the caller's to index (:meth:`take`)."""
        self._list_request.set()
        while not self._listed_all.wait(0.05):
            if self.finished:
                break
        with self._lock:
            self._taken.add(thread_id)
            return self._pending_ids.get(thread_id)

    def has(self, thread_id: str) -> bool:
        """Whether a rollout of ``thread_id`` waits to be indexed (once every directory is
        listed: waits for that)."""
        self._list_request.set()
        while not self._listed_all.wait(0.05):
            if self.finished:
                break
        with self._lock:
            return thread_id in self._pending_ids

    def frontier(self, archived: bool) -> int:
        """Every rollout of the collection not indexed yet was created before this (ms)."""
        with self._lock:
            return self._frontier[archived]

    def collection_done(self, archived: bool) -> bool:
        with self._lock:
            return self._collection_done[archived] or self.finished

    def answers(self, query: PageQuery, rows: Sequence[PageRow]) -> bool:
        """Whether ``rows`` (``query`` run on the index as it is) are the rows the complete
        index would give (see the module documentation)."""
        if self.collection_done(query.archived):
            return True
        if query.sort_key != "created_at" or not query.descending or len(rows) < query.limit:
            return False
        return rows[-1].sort_ms > self.frontier(query.archived)

    async def changed(self, version: int) -> None:
        """Return once the fill moved on from ``version`` (a batch, the end)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self.version != version or self.finished:
                return
            self._waiters.append((loop, future))
        await future

    def stop(self) -> None:
        """End the fill between two batches and wait for its thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def report(self) -> FillReport:
        return FillReport(self.threads, self.skipped_lines, self.unreadable)

    # -- the fill's thread ------------------------------------------------------------------------

    def _notify(self) -> None:
        with self._lock:
            self.version += 1
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # a loop closed meanwhile
                loop.call_soon_threadsafe(_resolve, future)

    def _run(self) -> None:
        index: Index | None = None
        workers: list[Worker] = []
        try:
            index = Index(self.index_path)
            self._fill(index, workers)
        except BaseException as exc:  # reported to whoever waits
            self.error = exc
        finally:
            for worker in workers:
                worker.close()
            if index is not None:
                with contextlib.suppress(Exception):
                    index.close()
            with self._lock:
                self.finished = True
                self._collection_done = {False: True, True: True}
            self._listed_all.set()
            self._notify()

    def _fill(self, index: Index, workers: list[Worker]) -> None:
        """Index batch after batch: the first few in this thread, listing directories as they
        are needed (the newest rows come first); then, with every directory listed, in worker
        processes when there is much left."""
        committed = 0
        listed_all = False
        bulk = False
        live: list[Worker] = []
        selector = selectors.DefaultSelector()
        try:
            while not self._stop.is_set():
                with self._lock:
                    need_listing = not self._batches and bool(self._todo)
                if need_listing:
                    self._list_next(index, listed_all)
                    continue
                if not listed_all and (committed >= _EARLY_BATCHES or self._list_request.is_set()):
                    listed_all = True
                    while self._list_next(index, True):
                        pass
                    with self._lock:
                        left = sum(len(b.jobs) for b in self._batches)
                    if left >= WORKER_THRESHOLD:
                        index.bulk_texts(True)
                        bulk = True
                        live = self._start_workers()
                        workers.extend(live)
                        for worker in live:
                            selector.register(worker, selectors.EVENT_READ, worker)
                    continue
                if live:
                    if not self._feed(live):
                        return
                    for key, _ in selector.select(timeout=0.2):
                        worker = key.data
                        try:
                            batch, results = worker.receive()
                        except (EOFError, OSError):
                            # A worker that died leaves its batches to the others, or to this thread.
                            selector.unregister(worker)
                            live.remove(worker)
                            with self._lock:
                                self._batches[:0] = worker.pending
                            worker.pending.clear()
                            continue
                        self._commit(index, batch, results)
                    continue
                with self._lock:
                    batch = self._batches.pop(0) if self._batches else None
                if batch is None:
                    if not self._list_next(index, listed_all):
                        return
                    continue
                self._commit(index, batch, [build_row(job, self.default_provider) for job in batch.jobs])
                committed += 1
        finally:
            selector.close()
            if bulk:
                index.bulk_texts(False)

    def _feed(self, live: list[Worker]) -> bool:
        """Give each worker up to two batches; False when nothing is left to do or to wait for."""
        for worker in live:
            while len(worker.pending) < 2:
                with self._lock:
                    batch = self._batches.pop(0) if self._batches else None
                if batch is None:
                    break
                worker.send(batch, batch.jobs)
        with self._lock:
            left = bool(self._batches) or bool(self._todo)
        return left or any(w.pending for w in live)

    def _list_next(self, index: Index, everything: bool) -> bool:
        """List the next directory into batches; False when none is left."""
        with self._lock:
            directory = self._todo.pop(0) if self._todo else None
            if directory is None:
                self._listed_all.set()
                return False
        stat = _stat(directory.path)
        on_disk = self.lister(directory.path) if stat is not None else None
        indexed = index.paths_under(directory.path)
        jobs: list[tuple[int, Job]] = []
        if on_disk is not None and stat is not None:
            directory.mtime = stat.st_mtime_ns
            directory.gone = [(p, t) for p, t in indexed.items() if p not in on_disk]
            names = index.names_of([t for p, t in on_disk.items() if p not in indexed])
            overrides = index.overrides_of(list(names))
            for path, thread_id in on_disk.items():
                if path in indexed:
                    continue
                job = Job(path, thread_id, directory.archived, names.get(thread_id), overrides.get(thread_id))
                jobs.append((file_bound(os.path.basename(path)), job))
        jobs.sort(key=lambda pair: (-pair[0], pair[1].path))
        size = _BATCH if not everything else _WORKER_BATCH
        batches = [
            _Batch(directory, [job for _, job in jobs[k : k + size]], jobs[k][0]) for k in range(0, len(jobs), size)
        ]
        with self._lock:
            if not batches:
                batches = [_Batch(directory, [], _NO_BOUND if directory.archived else 0)]
            directory.batches_left = len(batches)
            self._batches.extend(batches)
            self._open_batches.update((id(b), b) for b in batches)
            for _, job in jobs:
                self._pending_ids.setdefault(job.thread_id, job.path)
            self.total += len(jobs)
            self._update_frontier()
        return True

    def _start_workers(self) -> list[Worker]:
        """Worker processes, one per core up to :data:`_MAX_WORKERS` (none on one core, where
        they would only take turns with this thread)."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        started: list[Worker] = []
        for _ in range(min(_MAX_WORKERS, cores) if cores > 1 else 0):
            try:
                started.append(Worker(self.default_provider))
            except OSError as exc:
                _log.info("indexing without worker processes: %s", exc)
                break
        return started

    def _commit(self, index: Index, batch: _Batch, results: list[Result]) -> None:
        jobs = {job.path: job for job in batch.jobs}
        rows: list[NewRow] = []
        for result in results:
            if isinstance(result, NewRow):
                rows.append(result)
            elif result[0] == "fork":
                row = self._fork_row(index, jobs[result[1]])
                if row is not None:
                    rows.append(row)
                else:
                    self.unreadable += 1
            else:
                self.unreadable += 1
        directory = batch.directory
        with index.transaction():
            with self._lock:
                taken = set(self._taken)
            rows = [r for r in rows if r.thread_id not in taken and self.live_writer(r.thread_id) is None]
            rows = self._with_current_names(index, rows, jobs)
            if directory.gone:
                for path, thread_id in directory.gone:
                    location = index.location(thread_id)
                    if location is not None and location[0] == path and self.live_writer(thread_id) is None:
                        index.delete(thread_id)
                directory.gone = []
            present = index.insert_new(rows)
            last = directory.batches_left == 1
            if last and directory.mtime is not None:
                index.set_dir(directory.path, directory.mtime)
        for row in rows:
            if row.skipped:
                _log.warning("skipped %d unreadable line(s) in %s", row.skipped, row.path)
        with self._lock:
            directory.batches_left -= 1
            self._open_batches.pop(id(batch), None)
            for job in batch.jobs:
                if self._pending_ids.get(job.thread_id) == job.path:
                    del self._pending_ids[job.thread_id]
            self.done += len(batch.jobs)
            self.threads += sum(1 for r in rows if r.thread_id not in present)
            self.skipped_lines += sum(r.skipped for r in rows)
            if last:
                self._owned.discard(directory.path)
                if directory.mtime is not None:
                    self._completed.append((directory.path, directory.mtime))
            self._update_frontier()
        self._notify()

    def _update_frontier(self) -> None:
        """(Under the lock.) The bound of what is left in each collection."""
        for archived in (False, True):
            bounds = [d.bound for d in self._todo if d.archived == archived]
            bounds += [b.bound for b in self._open_batches.values() if b.directory.archived == archived]
            self._frontier[archived] = max(bounds, default=-_NO_BOUND)
            self._collection_done[archived] = not bounds

    def _with_current_names(self, index: Index, rows: list[NewRow], jobs: dict[str, Job]) -> list[NewRow]:
        """``rows``, each composed again when its name or overrides changed since it was built."""
        ids = [r.thread_id for r in rows]
        names = index.names_of(ids)
        overrides = index.overrides_of(ids)
        fresh: list[NewRow] = []
        for row in rows:
            job = jobs[row.path]
            if names.get(row.thread_id) == job.name_entry and overrides.get(row.thread_id) == job.overrides:
                fresh.append(row)
                continue
            current = job._replace(name_entry=names.get(row.thread_id), overrides=overrides.get(row.thread_id))
            fresh.append(_recompose(row, current, self.default_provider))
        return fresh

    def _fork_row(self, index: Index, job: Job) -> NewRow | None:
        """The row of a rollout that forks by reference, its parent found in the index or among
        the rollouts still to index."""

        def find_path(thread_id: str) -> Path | None:
            row = index.get(thread_id)
            if row is not None:
                return Path(row.path)
            with self._lock:
                pending = self._pending_ids.get(thread_id)
            return Path(pending) if pending is not None else None

        path = Path(job.path)
        try:
            stat = os.stat(path)
            chunk = read_resolved(path, find_path)
        except (OSError, InvalidRequest, Internal):
            return None
        summary = ThreadSummary(job.thread_id)
        texts: list[str] = []
        fold_chunk(summary, chunk, texts)
        end = stat.st_size if is_compressed(path) else chunk.end_offset
        row = NewRow(job.thread_id, _values(job, summary, stat, end, self.default_provider), texts, chunk.skipped)
        return row


def _values(
    job: Job, summary: ThreadSummary, stat: os.stat_result | None, file_size: int, default_provider: str
) -> tuple[object, ...]:
    """The row values of ``job``'s rollout from its summary (the name and overrides of ``job``)."""
    overrides = ThreadMetadataPatch.from_json(job.overrides) if job.overrides is not None else None
    thread = compose_thread(
        job.thread_id,
        job.path,
        summary,
        stat,
        archived=job.archived,
        name_entry=job.name_entry,
        overrides=overrides,
        default_provider=default_provider,
    )
    mtime_ns = stat.st_mtime_ns if stat else 0
    ino = stat.st_ino if stat else 0
    return row_values(
        thread, summary, path=job.path, archived=job.archived, file_size=file_size, mtime_ns=mtime_ns, ino=ino
    )


def _recompose(row: NewRow, job: Job, default_provider: str) -> NewRow:
    """``row`` composed again with ``job``'s name and overrides (its file state kept)."""
    file_size, mtime_ns, ino = row.values[-3:]
    values = list(_values(job, row.summary(), _stat(job.path), file_size, default_provider))
    values[-2:] = [mtime_ns, ino]
    return row._replace(values=tuple(values))


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
