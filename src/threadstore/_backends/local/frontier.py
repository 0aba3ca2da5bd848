"""What a background fill has left to index, in the order it indexes it, how new the rollouts
still to come can be, and how waiters hear that it moved on.

Order. Directories newest first by the date in their path (the active collection before
``archived_sessions/``), the rollouts of a directory newest first by the time in their name.

Bounds. A rollout's name carries its creation time in local time, to the second, and it lies in
the day directory of that date (``sessions/YYYY/MM/DD``): Codex and this store write them so,
and moves keep the name. Local time is at most 12 hours behind UTC (UTC-12:00 is the westernmost
zone), so a rollout was created (UTC) before its name's time plus :data:`ZONE_SLACK_MS`, and a
rollout of a directory not listed yet before the end of the directory's date plus that. :meth:`Pending.frontier` is the largest bound
of what is left in a collection: every rollout not indexed yet was created before it. A name or
directory that carries no date bounds nothing (it goes first).
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import os
import re
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from threadstore._backends.local.workers import Job

__all__ = ["NO_BOUND", "ZONE_SLACK_MS", "Beacon", "Directory", "Item", "Pending", "directory_bound", "file_bound"]

#: How far a rollout's creation time (UTC) may lie after the local time its name and directory
#: carry: twelve hours (UTC-12:00), and a minute for the two clocks reads of a writer.
ZONE_SLACK_MS: Final = (12 * 3600 + 60) * 1000
NO_BOUND: Final = 1 << 62

_DAY_RE: Final = re.compile(r"(\d{4})/(\d{2})/(\d{2})$")
_NAME_RE: Final = re.compile(r"^rollout-(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})-")


def directory_bound(path: str) -> int:
    """An upper bound (ms) of the creation time of rollouts in a ``YYYY/MM/DD`` directory."""
    match = _DAY_RE.search(path.replace(os.sep, "/"))
    if match is None:
        return NO_BOUND
    try:
        midnight = calendar.timegm((int(match[1]), int(match[2]), int(match[3]), 0, 0, 0))
    except (ValueError, OverflowError):
        return NO_BOUND
    return (midnight + 86400) * 1000 + ZONE_SLACK_MS


def file_bound(name: str) -> int:
    """An upper bound (ms) of the creation time of the rollout named ``name``."""
    match = _NAME_RE.match(name)
    if match is None:
        return NO_BOUND
    try:
        seconds = calendar.timegm(tuple(int(g) for g in match.groups()))
    except (ValueError, OverflowError):
        return NO_BOUND
    return (seconds + 1) * 1000 + ZONE_SLACK_MS


@dataclass(eq=False, slots=True)
class Item:
    """One rollout to index."""

    job: Job
    bound: int
    directory: Directory
    done: bool = False


@dataclass(eq=False)
class Directory:
    """One directory to index; ``mtime`` is its modification time before it was listed."""

    path: str
    archived: bool
    bound: int
    mtime: int | None = None
    items: list[Item] = field(default_factory=list)
    listed: bool = False
    left: int = 0
    _first: int = 0

    def pending_bound(self) -> int:
        """The largest bound of what is left of the directory (its items come largest first)."""
        if not self.listed:
            return self.bound
        while self._first < len(self.items) and self.items[self._first].done:
            self._first += 1
        return self.items[self._first].bound if self._first < len(self.items) else -NO_BOUND


class Pending:
    """Directories to list and rollouts to index, with one lock: the fill's thread changes them,
    the event loop asks about them."""

    def __init__(self, archived_path: str) -> None:
        self.lock = threading.Lock()
        self._archived_path = archived_path
        self._todo: list[Directory] = []
        self._open: list[Directory] = []
        self._owned: set[str] = set()
        self._queue: deque[Item] = deque()
        self._ids: dict[str, str] = {}
        #: Rollouts indexed (or found unreadable) and rollouts listed so far.
        self.done = 0
        self.total = 0

    def add(self, paths: Sequence[str]) -> None:
        with self.lock:
            for path in paths:
                if path not in self._owned:
                    self._owned.add(path)
                    archived = path == self._archived_path
                    self._todo.append(Directory(path, archived, NO_BOUND if archived else directory_bound(path)))
            self._todo.sort(key=lambda d: (d.archived, -d.bound, d.path))

    def owns(self, path: str) -> bool:
        """Whether ``path`` is to be indexed and not recorded yet."""
        with self.lock:
            return path in self._owned

    @property
    def unlisted(self) -> int:
        with self.lock:
            return len(self._todo)

    def next_directory(self) -> Directory | None:
        """The next directory to list (it stays pending until :meth:`listed`)."""
        with self.lock:
            return self._todo[0] if self._todo else None

    def listed(self, directory: Directory, items: list[Item]) -> bool:
        """``directory`` was listed: queue its ``items`` (largest bound first). True when it had
        nothing to index (it is done)."""
        with self.lock:
            self._todo.remove(directory)
            directory.items = items
            directory.left = len(items)
            directory.listed = True
            self._queue.extend(items)
            for item in items:
                self._ids.setdefault(item.job.thread_id, item.job.path)
            self.total += len(items)
            if items:
                self._open.append(directory)
            else:
                self._owned.discard(directory.path)
            return not items

    def take(self, count: int) -> list[Item]:
        with self.lock:
            return [self._queue.popleft() for _ in range(min(count, len(self._queue)))]

    def give_back(self, items: list[Item]) -> None:
        """Items taken and not indexed go back to the front."""
        with self.lock:
            self._queue.extendleft(reversed(items))

    @property
    def queued(self) -> int:
        with self.lock:
            return len(self._queue)

    def estimate(self) -> int:
        """About how many rollouts are left (unlisted directories counted at the average)."""
        with self.lock:
            listed = sum(len(d.items) for d in self._open) + self.done
            directories = max(len(self._open), 1)
            return len(self._queue) + int(listed / directories * len(self._todo))

    def finishing(self, items: list[Item]) -> list[Directory]:
        """The directories that indexing ``items`` completes."""
        counts: dict[Directory, int] = {}
        for item in items:
            counts[item.directory] = counts.get(item.directory, 0) + 1
        with self.lock:
            return [d for d, n in counts.items() if d.left == n]

    def indexed(self, items: list[Item]) -> None:
        """``items`` are in the index (committed)."""
        with self.lock:
            for item in items:
                item.done = True
                directory = item.directory
                directory.left -= 1
                if directory.left == 0:
                    self._open.remove(directory)
                    self._owned.discard(directory.path)
                if self._ids.get(item.job.thread_id) == item.job.path:
                    del self._ids[item.job.thread_id]
            self.done += len(items)

    def path_of(self, thread_id: str) -> str | None:
        """A listed rollout of ``thread_id`` not indexed yet."""
        with self.lock:
            return self._ids.get(thread_id)

    def frontier(self, archived: bool) -> int:
        """Every rollout of the collection not indexed yet was created before this (ms)."""
        with self.lock:
            bounds = [d.bound for d in self._todo if d.archived == archived]
            bounds += [d.pending_bound() for d in self._open if d.archived == archived]
            return max(bounds, default=-NO_BOUND)

    def collection_done(self, archived: bool) -> bool:
        with self.lock:
            return not any(d.archived == archived for d in (*self._todo, *self._open))

    def idle(self) -> bool:
        """Nothing left to list or to take."""
        with self.lock:
            return not self._todo and not self._queue


class Beacon:
    """A thread's word that it moved on, to coroutines of any event loop: :meth:`moved` (from
    any thread) raises :attr:`version` and wakes those waiting in :meth:`after`; after
    :meth:`end` nobody waits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.version = 0
        self.ended = False

    def moved(self) -> None:
        with self._lock:
            self.version += 1
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # a loop closed meanwhile
                loop.call_soon_threadsafe(_resolve, future)

    def end(self) -> None:
        self.ended = True
        self.moved()

    async def after(self, version: int) -> None:
        """Return once the version is no longer ``version`` (or the beacon ended)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self.version != version or self.ended:
                return
            self._waiters.append((loop, future))
        await future


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
