"""The background fill: indexing many rollouts on a thread of its own while queries go on.

The catalog hands the fill whole directories: those the index has never seen (a first look at a
large home, a lost or rebuilt index) and those that gained many rollouts at once. The fill lists
each, indexes the rollouts the index lacks, and records the directory as seen with the
modification time it had *before* it was listed, so whatever changed it since is found by the
catalog's next scan. It reads the first rollouts itself; when many are left it starts worker
processes (:mod:`.workers`) and only writes rows while they read.

Pages before the end. Rollouts are indexed newest first, and :mod:`.frontier` bounds how new
the ones still to come can be (from the times their names and directories carry). A newest-first
page (``created_at`` descending) whose last row — one more than the page, which also decides the
next cursor — is newer than that bound is exactly the page the complete index gives
(:meth:`Fill.answers`); other orders, and pages that reach past the bound, wait. A rollout whose
session_meta time lies more than :data:`~.frontier.ZONE_SLACK_MS` after the time in its name
breaks the rule the bound rests on: a page answered early can miss it; the complete index lists
it.

Concurrency. The fill writes through its own connection, in transactions of one batch (the
first ones) or of the answers at hand (at most :data:`_GROUP` rollouts). It only adds threads
the index lacks: a thread the event loop indexed or forgot meanwhile (:meth:`Fill.take`), or one
with a live writer in this process, is left alone. Names and overrides are read again inside
each transaction; a thread whose name or overrides changed since its row was built is composed
again. :meth:`Fill.stop` ends it between two transactions; what was committed stays.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from threadstore._backends.local.files import stat_or_none
from threadstore._backends.local.frontier import Beacon, Item, Pending, file_bound
from threadstore._backends.local.index import Checkpointer, Index, NewRow, PageQuery, PageRow
from threadstore._backends.local.layout import Layout
from threadstore._backends.local.workers import Job, Pool, Result, build_row, fork_row, with_current_names

__all__ = ["WORKER_THRESHOLD", "Fill"]

_log: Final = logging.getLogger("threadstore.local")

#: A fill with about this many rollouts or more to read starts worker processes.
WORKER_THRESHOLD: int = 2000
_MAX_WORKERS: Final = 2
_BATCH: Final = 64
_FIRST_BATCH: Final = 16
_WORKER_BATCH: Final = 96
#: Batches read in the fill's own thread before workers start (they would slow the newest rows,
#: which the first page waits for, while they start).
_EARLY_BATCHES: Final = 4
#: At most this many rollouts are written in one transaction.
_GROUP: Final = 512
#: Threads whose texts go into the trigram index in one transaction, after a bulk fill.
_TEXTS_GROUP: Final = 2000


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
        self.pending = Pending(str(layout.archived))
        self._lock = threading.Lock()
        self._taken: set[str] = set()
        self._completed: list[tuple[str, int]] = []
        self.beacon = Beacon()
        self._listed_all = threading.Event()
        self._list_request = threading.Event()
        self._stop = threading.Event()
        self._names: dict[str, str] = {}
        self._overrides: dict[str, dict[str, Any]] = {}
        self._checkpointer: Checkpointer | None = None
        self.threads = 0
        self.skipped_lines = 0
        self.unreadable = 0
        self.finished = False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="threadstore-fill", daemon=True)

    # -- the event loop's side --------------------------------------------------------------------

    @property
    def done(self) -> int:
        return self.pending.done

    @property
    def total(self) -> int:
        return self.pending.total

    def start(self, directories: Sequence[str]) -> None:
        self.add(directories)
        self._thread.start()

    def add(self, directories: Sequence[str]) -> bool:
        """Take more directories (False when the fill already ended: start another)."""
        with self._lock:
            if self.finished:
                return False
            self.pending.add(directories)
            if self.pending.unlisted:
                self._listed_all.clear()
        return True

    def owns(self, directory: str) -> bool:
        """Whether ``directory`` is the fill's until it records it."""
        return self.pending.owns(directory)

    def completed(self) -> list[tuple[str, int]]:
        """Directories recorded since the last call, with the modification time recorded."""
        with self._lock:
            done, self._completed = self._completed, []
        return done

    def take(self, thread_id: str) -> None:
        """The event loop indexes or forgets ``thread_id`` itself: leave it alone."""
        with self._lock:
            self._taken.add(thread_id)

    async def claim(self, thread_id: str) -> str | None:
        """A rollout of ``thread_id`` the fill has not indexed (once every directory is listed:
        this waits for that), now the caller's to index (:meth:`take`)."""
        await self.listed()
        self.take(thread_id)
        return self.pending.path_of(thread_id)

    async def has(self, thread_id: str) -> bool:
        """Whether a rollout of ``thread_id`` waits to be indexed (waits for the listing)."""
        await self.listed()
        return self.pending.path_of(thread_id) is not None

    async def listed(self) -> None:
        """Return once every directory of the fill is listed (asking the fill to list the rest
        first), or the fill ended."""
        self._list_request.set()
        while True:
            version = self.beacon.version
            if self._listed_all.is_set() or self.finished:
                return
            await self.beacon.after(version)

    def collection_done(self, archived: bool) -> bool:
        return self.finished or self.pending.collection_done(archived)

    def answers(self, query: PageQuery, rows: Sequence[PageRow]) -> bool:
        """Whether ``rows`` (``query`` run on the index as it is) are the rows the complete
        index would give (see the module documentation)."""
        if self.collection_done(query.archived):
            return True
        if query.sort_key != "created_at" or not query.descending or len(rows) < query.limit:
            return False
        return rows[-1].sort_ms > self.pending.frontier(query.archived)

    async def wait(
        self, ready: Callable[[Fill], tuple[bool, bool]], progress: Callable[[int, int], None] | None
    ) -> None:
        """Return once ``ready(self)`` says (done waiting, because complete) or the fill ended.
        ``progress`` hears (rollouts indexed, rollouts to index) while this waits, and once
        when it is done waiting — unless it did not wait at all for an early answer (the fill
        goes on unseen)."""
        waited = False
        while True:
            version = self.beacon.version
            if self.finished:
                if progress is not None:
                    progress(self.done, self.total)
                return
            done, complete = ready(self)
            if progress is not None and (waited or complete or not done):
                progress(self.done, self.total)
            if done:
                return
            waited = True
            await self.beacon.after(version)

    def stop(self) -> None:
        """End the fill between two transactions and wait for its thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    # -- the fill's thread ------------------------------------------------------------------------

    def _run(self) -> None:
        index: Index | None = None
        pool: Pool | None = None
        checkpointer: Checkpointer | None = None
        try:
            index = Index(self.index_path, checkpoints=False)
            checkpointer = self._checkpointer = Checkpointer(self.index_path)
            self._names = index.names_of(None)
            self._overrides = index.overrides_of(None)
            while True:
                pool = self._fill(index)
                if pool is not None:
                    pool.close()
                    pool = None
                self._index_texts(index)
                with self._lock:
                    # Directories added while the texts went in are done before ending.
                    if self._stop.is_set() or not self.pending.unlisted:
                        self.finished = True
                        break
        except BaseException as exc:  # reported to whoever waits
            self.error = exc
        finally:
            if pool is not None:
                pool.close()
            if checkpointer is not None:
                checkpointer.close()
            if index is not None:
                with contextlib.suppress(Exception):
                    index.close()
            with self._lock:
                self.finished = True
            self._listed_all.set()
            self.beacon.end()

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
                self._poke_checkpointer()
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
                for batch, _ in reversed(pool.orphans):
                    self.pending.give_back(batch)
                pool.orphans.clear()
            if self._list_request.is_set() or (pool is not None and pool.ready):
                while self._list_next(index):
                    pass
            if pool is None and committed >= _EARLY_BATCHES and self.pending.estimate() >= WORKER_THRESHOLD:
                pool = Pool.start(_MAX_WORKERS, self.default_provider)
            if pool is not None and pool.ready:
                if not self._feed(pool):
                    return pool
                self._commit_answers(index, pool)
                continue
            if pool is not None:
                pool.answers(0)  # notice workers that became ready
            # The first batches small: the first page waits for the newest rows only.
            batch = self.pending.take(min(_BATCH, _FIRST_BATCH << committed))
            if not batch:
                if not self._list_next(index):
                    if pool is not None and pool.busy:
                        continue
                    return pool
                continue
            self._commit(index, [(batch, [build_row(i.job, self.default_provider) for i in batch])])
            committed += 1
        return pool

    def _feed(self, pool: Pool) -> bool:
        """Give idle workers a batch each; False when nothing is left to do or to wait for."""
        for worker in pool.idle():
            batch = self.pending.take(_WORKER_BATCH)
            if not batch:
                break
            worker.send(batch, [i.job for i in batch])
        return not self.pending.idle() or pool.busy

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
        """List the next directory, queueing its new rollouts newest first, and forget rows of
        rollouts no longer there; False when no directory is left to list."""
        directory = self.pending.next_directory()
        if directory is None:
            self._listed_all.set()
            self.beacon.moved()
            return False
        stat = stat_or_none(directory.path)
        on_disk = self.lister(directory.path) if stat is not None else None
        indexed = index.paths_under(directory.path)
        items: list[Item] = []
        if on_disk is not None and stat is not None:
            directory.mtime = stat.st_mtime_ns
            for path, thread_id in on_disk.items():
                if path not in indexed:
                    job = Job(
                        path, thread_id, directory.archived, self._names.get(thread_id), self._overrides.get(thread_id)
                    )
                    items.append(Item(job, file_bound(os.path.basename(path)), directory))
            items.sort(key=lambda i: (-i.bound, i.job.path))
            with index.transaction():
                for path, thread_id in indexed.items():
                    location = index.location(thread_id)
                    gone = path not in on_disk and location is not None and location[0] == path
                    if gone and self.live_writer(thread_id) is None:
                        index.delete(thread_id)
                if not items:
                    index.set_dir(directory.path, directory.mtime)
        if self.pending.listed(directory, items):
            if directory.mtime is not None:
                with self._lock:
                    self._completed.append((directory.path, directory.mtime))
            self.beacon.moved()
        return True

    def _commit(self, index: Index, batches: list[tuple[list[Item], list[Result]]]) -> None:
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
        finished = [d for d in self.pending.finishing(items) if d.mtime is not None]
        with index.transaction():
            with self._lock:
                taken = set(self._taken)
            rows = [r for r in rows if r.thread_id not in taken and self.live_writer(r.thread_id) is None]
            rows = with_current_names(index, rows, jobs, self.default_provider)
            # Texts go into the trigram index after the rows (in large transactions: cheaper, and
            # the rows come sooner); searches meanwhile scan them.
            present = index.insert_new(rows, defer_texts=True)
            for directory in finished:
                assert directory.mtime is not None
                index.set_dir(directory.path, directory.mtime)
        for row in rows:
            if row.skipped:
                _log.warning("skipped %d unreadable line(s) in %s", row.skipped, row.path)
        self._poke_checkpointer()
        self.pending.indexed(items)  # readers see them only now that they are committed
        with self._lock:
            self._completed.extend((d.path, d.mtime) for d in finished if d.mtime is not None)
        self.threads += sum(1 for r in rows if r.thread_id not in present)
        self.skipped_lines += sum(r.skipped for r in rows)
        self.beacon.moved()

    def _poke_checkpointer(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.poke_if_large()

    def _fork_row(self, index: Index, job: Job) -> NewRow | None:
        """The row of a rollout that forks by reference, its parent found in the index or among
        the rollouts still to index."""

        def find_path(thread_id: str) -> Path | None:
            row = index.get(thread_id)
            pending = row.path if row is not None else self.pending.path_of(thread_id)
            return Path(pending) if pending is not None else None

        return fork_row(job, find_path, self.default_provider)
