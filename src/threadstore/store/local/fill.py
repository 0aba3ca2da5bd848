"""The background fill: indexing many rollouts on a thread of its own while queries go on.

The catalog hands the fill whole directories: those the index has never seen (a first look at a
large home, a lost or rebuilt index) and those that gained many rollouts at once. The fill lists
each, indexes the rollouts the index lacks, and records the directory as seen with the
modification time it had *before* it was listed, so whatever changed it since is found by the
catalog's next scan. It reads the first rollouts itself; when many are left it starts worker
processes (:mod:`.workers`) and only writes rows while they read.

Order, and pages before the end. Rollouts are indexed newest first: directories by the date in
their path, the files of a directory by the time in their name. A rollout's name carries its
creation time in local time, to the second, and it lies in the day directory of that date
(``sessions/YYYY/MM/DD``): Codex and this store write them so, and moves keep the name. Local
time is within 14 hours of UTC, so a rollout not indexed yet was created before the end of its
directory's date plus :data:`ZONE_SLACK_MS` (once its directory is listed: before its name's
time plus that). :meth:`Fill.frontier` is the largest such bound still pending. A newest-first
page (``created_at`` descending) whose last row — one more than the page, which also decides the
next cursor — is newer than the frontier is exactly the page the complete index gives
(:meth:`Fill.answers`); other orders, and pages that reach past the frontier, wait. A rollout
whose session_meta time is more than ``ZONE_SLACK_MS`` from its name's breaks that rule: a page
answered early can miss it; the complete index lists it.

Concurrency. The fill writes through its own connection, in transactions of one batch (the
first ones) or of the answers at hand (at most :data:`_GROUP` rollouts). It only adds threads
the index lacks: a thread the event loop indexed or forgot meanwhile (:meth:`Fill.take`), or one
with a live writer in this process, is left alone. Names and overrides are read again inside
each transaction; a thread whose name or overrides changed since its row was built is composed
again. :meth:`Fill.stop` ends it between two transactions; what was committed stays.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import logging
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ...errors import Internal, InvalidRequest
from ..summary import ThreadSummary
from .extract import fold_chunk
from .index import Index, NewRow, PageQuery, PageRow
from .layout import Layout, is_compressed
from .rollout import read_resolved
from .workers import Job, Pool, Result, build_row, row_of

__all__ = ["WORKER_THRESHOLD", "ZONE_SLACK_MS", "Fill", "directory_bound", "file_bound"]

_log: Final = logging.getLogger("threadstore.local")

#: How far a rollout's creation time (UTC) may lie from the local time its name and directory carry.
ZONE_SLACK_MS: Final = 15 * 3600 * 1000
_NO_BOUND: Final = 1 << 62
#: A fill with about this many rollouts or more to read starts worker processes.
WORKER_THRESHOLD: int = 2000
_MAX_WORKERS: Final = 2
_BATCH: Final = 64
_WORKER_BATCH: Final = 96
#: Batches read in the fill's own thread before workers start (they would slow the newest rows,
#: which the first page waits for, while they start).
_EARLY_BATCHES: Final = 4
#: At most this many rollouts are written in one transaction.
_GROUP: Final = 512
#: Threads whose texts go into the trigram index in one transaction, after a bulk fill.
_TEXTS_GROUP: Final = 2000

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


@dataclass(eq=False, slots=True)
class _Item:
    job: Job
    bound: int
    directory: _Dir
    done: bool = False


@dataclass(eq=False)
class _Dir:
    path: str
    archived: bool
    bound: int
    mtime: int | None = None
    items: list[_Item] = field(default_factory=list)
    first: int = 0
    left: int = 0

    def pending_bound(self) -> int:
        """The largest bound of the directory's rollouts not indexed yet (items are sorted by
        bound, largest first)."""
        while self.first < len(self.items) and self.items[self.first].done:
            self.first += 1
        return self.items[self.first].bound if self.first < len(self.items) else -_NO_BOUND


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
        self._listed: list[_Dir] = []
        self._queue: deque[_Item] = deque()
        self._pending_ids: dict[str, str] = {}
        self._owned: set[str] = set()
        self._taken: set[str] = set()
        self._completed: list[tuple[str, int]] = []
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._listed_all = threading.Event()
        self._list_request = threading.Event()
        self._stop = threading.Event()
        self._names: dict[str, str] = {}
        #: A fill read by workers stores texts now and adds them to the trigram index at the end.
        self._defer_texts = False
        self._overrides: dict[str, dict[str, Any]] = {}
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
                if path not in self._owned:
                    self._owned.add(path)
                    archived = path == str(self.layout.archived)
                    self._todo.append(_Dir(path, archived, _NO_BOUND if archived else directory_bound(path)))
            # Active directories first, newest first; the archive last.
            self._todo.sort(key=lambda d: (d.archived, -d.bound, d.path))
            if self._todo:
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
        """A rollout of ``thread_id`` the fill has not indexed (once every directory is listed:
        this waits for that), now the caller's to index (:meth:`take`)."""
        self._wait_listed()
        with self._lock:
            self._taken.add(thread_id)
            return self._pending_ids.get(thread_id)

    def has(self, thread_id: str) -> bool:
        """Whether a rollout of ``thread_id`` waits to be indexed (waits for the listing)."""
        self._wait_listed()
        with self._lock:
            return thread_id in self._pending_ids

    def _wait_listed(self) -> None:
        self._list_request.set()
        while not self._listed_all.wait(0.05):
            if self.finished:
                return

    def frontier(self, archived: bool) -> int:
        """Every rollout of the collection not indexed yet was created before this (ms)."""
        with self._lock:
            return self._frontier(archived)

    def _frontier(self, archived: bool) -> int:
        bounds = [d.bound for d in self._todo if d.archived == archived]
        bounds += [d.pending_bound() for d in self._listed if d.archived == archived and d.left]
        return max(bounds, default=-_NO_BOUND)

    def collection_done(self, archived: bool) -> bool:
        with self._lock:
            if self.finished:
                return True
            return not any(d.archived == archived for d in self._todo) and not any(
                d.archived == archived and d.left for d in self._listed
            )

    def answers(self, query: PageQuery, rows: Sequence[PageRow]) -> bool:
        """Whether ``rows`` (``query`` run on the index as it is) are the rows the complete
        index would give (see the module documentation)."""
        if self.collection_done(query.archived):
            return True
        if query.sort_key != "created_at" or not query.descending or len(rows) < query.limit:
            return False
        return rows[-1].sort_ms > self.frontier(query.archived)

    async def changed(self, version: int) -> None:
        """Return once the fill moved on from ``version`` (a transaction, the end)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self.version != version or self.finished:
                return
            self._waiters.append((loop, future))
        await future

    def stop(self) -> None:
        """End the fill between two transactions and wait for its thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

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
        pool: Pool | None = None
        try:
            index = Index(self.index_path)
            self._names = index.names_of(None)
            self._overrides = index.overrides_of(None)
            pool = self._fill(index)
            if pool is not None:
                pool.close()
            self._index_texts(index)
        except BaseException as exc:  # reported to whoever waits
            self.error = exc
        finally:
            if pool is not None:
                pool.close()
            if index is not None:
                with contextlib.suppress(Exception):
                    index.close()
            with self._lock:
                self.finished = True
            self._listed_all.set()
            self._notify()

    def _index_texts(self, index: Index) -> None:
        """Put the texts stored without their trigram index into it (a bulk fill stores them so:
        searches meanwhile scan them), in transactions of :data:`_TEXTS_GROUP` threads."""
        if not index.has_pending_texts():
            return
        merged = False
        try:
            index.bulk_texts(True)
            while not self._stop.is_set():
                with index.transaction():
                    more = index.index_pending_texts(_TEXTS_GROUP)
                if not more:
                    merged = True
                    return
        finally:
            index.bulk_texts(False, merge=merged)

    def _fill(self, index: Index) -> Pool | None:
        """Index batch after batch: the first ones in this thread, listing directories as they
        are needed (the newest rows come first); once much is known to be left, in workers."""
        pool: Pool | None = None
        committed = 0
        while not self._stop.is_set():
            if pool is not None and pool.orphans:
                # A worker died: its batches go back to the front of the queue.
                with self._lock:
                    for batch, _ in reversed(pool.orphans):
                        self._queue.extendleft(reversed(batch))
                pool.orphans.clear()
            if self._list_request.is_set() or (pool is not None and pool.ready):
                while self._list_next(index):
                    pass
            if pool is None and committed >= _EARLY_BATCHES and self._estimate() >= WORKER_THRESHOLD:
                pool = self._start_pool()
                self._defer_texts = pool is not None
            if pool is not None and pool.ready:
                if not self._feed(pool):
                    return pool
                self._commit_answers(index, pool)
                continue
            if pool is not None:
                pool.answers(0)  # notice workers that became ready
            batch = self._take(_BATCH)
            if not batch:
                if not self._list_next(index):
                    if pool is not None and pool.busy:
                        continue
                    return pool
                continue
            self._commit(index, [(batch, [build_row(i.job, self.default_provider) for i in batch])])
            committed += 1
        return pool

    def _estimate(self) -> int:
        """About how many rollouts are left (unlisted directories counted at the average)."""
        with self._lock:
            listed = [d for d in self._listed if d.items]
            average = sum(len(d.items) for d in listed) / max(len(listed), 1)
            return len(self._queue) + int(average * len(self._todo))

    def _start_pool(self) -> Pool | None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if cores < 2:
            return None  # workers would only take turns with this thread
        return Pool.start(min(_MAX_WORKERS, cores), self.default_provider)

    def _take(self, count: int) -> list[_Item]:
        with self._lock:
            return [self._queue.popleft() for _ in range(min(count, len(self._queue)))]

    def _feed(self, pool: Pool) -> bool:
        """Give idle workers a batch each; False when nothing is left to do or to wait for."""
        for worker in pool.idle():
            batch = self._take(_WORKER_BATCH)
            if not batch:
                break
            worker.send(batch, [i.job for i in batch])
        with self._lock:
            left = bool(self._queue) or bool(self._todo)
        return left or pool.busy

    def _commit_answers(self, index: Index, pool: Pool) -> None:
        """Write the answers at hand in one transaction (up to :data:`_GROUP` rollouts)."""
        answers = pool.answers(0.2)
        while answers and sum(len(b) for b, _ in answers) < _GROUP:
            more = pool.answers(0)
            if not more:
                break
            answers.extend(more)
        if answers:
            self._commit(index, answers)

    def _list_next(self, index: Index) -> bool:
        """List the next directory, queueing its new rollouts newest first; False when none is
        left to list."""
        with self._lock:
            directory = self._todo.pop(0) if self._todo else None
            if directory is None:
                self._listed_all.set()
                return False
            self._listed.append(directory)
        stat = _stat(directory.path)
        on_disk = self.lister(directory.path) if stat is not None else None
        indexed = index.paths_under(directory.path)
        items: list[_Item] = []
        if on_disk is not None and stat is not None:
            directory.mtime = stat.st_mtime_ns
            for path, thread_id in on_disk.items():
                if path not in indexed:
                    job = Job(
                        path, thread_id, directory.archived, self._names.get(thread_id), self._overrides.get(thread_id)
                    )
                    items.append(_Item(job, file_bound(os.path.basename(path)), directory))
            items.sort(key=lambda i: (-i.bound, i.job.path))
            gone = [(p, t) for p, t in indexed.items() if p not in on_disk]
            with index.transaction():
                for path, thread_id in gone:
                    location = index.location(thread_id)
                    if location is not None and location[0] == path and self.live_writer(thread_id) is None:
                        index.delete(thread_id)
                if not items:
                    index.set_dir(directory.path, directory.mtime)
        with self._lock:
            directory.items = items
            directory.left = len(items)
            self._queue.extend(items)
            for item in items:
                self._pending_ids.setdefault(item.job.thread_id, item.job.path)
            self.total += len(items)
            if not items:
                self._owned.discard(directory.path)
                if directory.mtime is not None:
                    self._completed.append((directory.path, directory.mtime))
        if not items:
            self._notify()
        return True

    def _commit(self, index: Index, batches: list[tuple[list[_Item], list[Result]]]) -> None:
        """Write the rows of ``batches`` (and record the directories they complete) in one
        transaction, then tell waiters."""
        rows: list[NewRow] = []
        jobs: dict[str, Job] = {}
        for batch, results in batches:
            for item, result in zip(batch, results, strict=True):
                jobs[item.job.path] = item.job
                row = self._fork_row(index, item.job) if isinstance(result, tuple) and result[0] == "fork" else result
                if isinstance(row, NewRow):
                    rows.append(row)
                else:
                    self.unreadable += 1
        items = [item for batch, _ in batches for item in batch]
        finished: list[_Dir] = []
        with index.transaction():
            with self._lock:
                taken = set(self._taken)
            rows = [r for r in rows if r.thread_id not in taken and self.live_writer(r.thread_id) is None]
            rows = self._with_current_names(index, rows, jobs)
            present = index.insert_new(rows, defer_texts=self._defer_texts)
            for item in items:
                directory = item.directory
                directory.left -= 1
                if directory.left == 0 and directory.mtime is not None:
                    index.set_dir(directory.path, directory.mtime)
                    finished.append(directory)
        for row in rows:
            if row.skipped:
                _log.warning("skipped %d unreadable line(s) in %s", row.skipped, row.path)
        with self._lock:
            for item in items:
                item.done = True
                if self._pending_ids.get(item.job.thread_id) == item.job.path:
                    del self._pending_ids[item.job.thread_id]
            for directory in finished:
                self._owned.discard(directory.path)
                if directory.mtime is not None:
                    self._completed.append((directory.path, directory.mtime))
            self.done += len(items)
            self.threads += sum(1 for r in rows if r.thread_id not in present)
            self.skipped_lines += sum(r.skipped for r in rows)
        self._notify()

    def _with_current_names(self, index: Index, rows: list[NewRow], jobs: dict[str, Job]) -> list[NewRow]:
        """``rows``, each composed again when its name or overrides changed since it was built."""
        ids = [r.thread_id for r in rows]
        names = index.names_of(ids)
        overrides = index.overrides_of(ids)
        fresh: list[NewRow] = []
        for row in rows:
            job = jobs[row.path]
            name, patch = names.get(row.thread_id), overrides.get(row.thread_id)
            if name == job.name_entry and patch == job.overrides:
                fresh.append(row)
                continue
            size, mtime_ns, ino = row.values[-3:]
            current = job._replace(name_entry=name, overrides=patch)
            again = row_of(
                current,
                row.summary(),
                row.texts,
                _stat(job.path),
                file_size=size,
                skipped=row.skipped,
                default_provider=self.default_provider,
            )
            fresh.append(again._replace(values=(*again.values[:-2], mtime_ns, ino)))
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
        size = stat.st_size if is_compressed(path) else chunk.end_offset
        return row_of(
            job, summary, texts, stat, file_size=size, skipped=chunk.skipped, default_provider=self.default_provider
        )


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
