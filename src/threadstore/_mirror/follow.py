"""Following the homes while a mirror runs, and the mirror's housekeeping.

* inotify: each home's watcher descriptor is read by the event loop as soon as the kernel
  queues a change (no polling); a rollout written to is queued at once, a directory whose
  entries changed is listed again, a change of ``session_index.jsonl`` is read, a change of
  Codex's state database is read (at most once a second). A full queue means a sweep.
* a sweep (every ``sweep`` seconds; every ``poll`` seconds for a home without a working
  watcher) compares every rollout with the last look.
* a thread whose writer has been quiet for ``idle`` seconds is queued, so that its sync
  closes the writer and writes the checkpoint.
* a thread whose rollout went away is handled once it has stayed away for
  :data:`GONE_AFTER` seconds (a rollout being moved — archived, compressed — is away only for
  an instant).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Final, Protocol

from threadstore._mirror.codex_state import StateFacts, read_state_facts
from threadstore._mirror.home import Home
from threadstore._mirror.queue import WorkQueue
from threadstore._mirror.sync import Syncer
from threadstore._mirror.track import Key, Track
from threadstore.errors import ThreadStoreError

__all__ = ["GONE_AFTER", "Follower", "Followed"]

_log: Final = logging.getLogger("threadstore.mirror")

GONE_AFTER: Final = 1.0
_TICK: Final = 0.2
_STATE_EVERY: Final = 1.0


class Followed(Protocol):
    """What following the homes needs of the mirror."""

    homes: list[Home]
    tracks: dict[Key, Track]
    queue: WorkQueue[Key]
    syncer: Syncer

    def touch(self, home: int, thread_id: str, *, hot: bool = True) -> None: ...

    def forget(self, key: Key) -> None: ...

    def lock(self, key: Key) -> asyncio.Lock: ...

    def refresh_state(self, home: int, facts: dict[str, StateFacts]) -> None: ...


class Follower:
    """Follows the homes of one mirror (see the module documentation): ``sweep``, ``poll``
    and ``idle`` are the mirror's options of those names."""

    def __init__(self, mirror: Followed, *, sweep: float, poll: float, idle: float) -> None:
        self.mirror = mirror
        self.sweep_every, self.poll_every, self.idle = sweep, poll, idle
        self._readers: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self._missing: dict[Key, float] = {}
        self._swept = [time.monotonic()] * len(mirror.homes)
        self._state_due = [False] * len(mirror.homes)
        self._state_at = [0.0] * len(mirror.homes)
        self._checked: dict[Key, float] = {}

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        for index, home in enumerate(self.mirror.homes):
            fd = home.fileno()
            if fd is not None:
                loop.add_reader(fd, self._readable, index)
                self._readers.add(fd)
        self._task = loop.create_task(self._housekeeping(), name="mirror-housekeeping")

    def stop(self, loop: asyncio.AbstractEventLoop) -> None:
        for fd in self._readers:
            loop.remove_reader(fd)
        self._readers.clear()
        if self._task is not None:
            self._task.cancel()
            self._task = None

    # -- reports from the homes ------------------------------------------------------------------

    def _readable(self, index: int) -> None:
        home = self.mirror.homes[index]
        reported = home.changes()
        if reported is None:
            self._sweep(index)
            return
        threads, names, state = reported
        for thread_id in threads:
            self.mirror.touch(index, thread_id)
        if names:
            for thread_id in home.read_names():
                if (index, thread_id) in self.mirror.tracks:
                    self.mirror.touch(index, thread_id)
        if state:
            self._state_due[index] = True

    def _sweep(self, index: int) -> None:
        self._swept[index] = time.monotonic()
        home = self.mirror.homes[index]
        for thread_id in home.sweep():
            self.mirror.touch(index, thread_id, hot=False)
        for thread_id in home.read_names():
            if (index, thread_id) in self.mirror.tracks:
                self.mirror.touch(index, thread_id, hot=False)
        self._state_due[index] = True

    def rescan(self, index: int) -> None:
        """Look at a home's directories again (a rollout could not be read where it was)."""
        for thread_id in self.mirror.homes[index].scan():
            self.mirror.touch(index, thread_id)

    def missing(self, key: Key) -> None:
        """A thread's rollout is not in its home: handle it if it stays away."""
        self._missing.setdefault(key, time.monotonic())

    # -- the periodic part -----------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(_TICK)
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop the housekeeping
                _log.exception("mirror housekeeping failed")

    async def _tick(self) -> None:
        mirror = self.mirror
        now = time.monotonic()
        for index, home in enumerate(mirror.homes):
            watched = home.watcher is not None and home.watcher.healthy and home.fileno() in self._readers
            every = self.sweep_every if watched else self.poll_every
            if now - self._swept[index] >= every:
                self._sweep(index)
            if self._state_due[index] and now - self._state_at[index] >= _STATE_EVERY:
                self._state_due[index] = False
                self._state_at[index] = now
                facts = await asyncio.to_thread(read_state_facts, home.root)
                mirror.refresh_state(index, facts)
        for key, track in list(mirror.tracks.items()):
            if track.writer and now - track.last_sent >= self.idle and now - self._checked.get(key, 0) >= self.idle:
                self._checked[key] = now
                mirror.queue.put(key, hot=False)
        await self._handle_missing(now)

    async def _handle_missing(self, now: float) -> None:
        mirror = self.mirror
        due = [key for key, since in self._missing.items() if now - since >= GONE_AFTER]
        if not due:
            return
        rescanned: set[int] = set()
        for key in due:
            del self._missing[key]
            index, thread_id = key
            if index not in rescanned:
                rescanned.add(index)
                for changed in mirror.homes[index].scan():
                    if (index, changed) in mirror.tracks and changed != thread_id:
                        mirror.touch(index, changed)
            track = mirror.tracks.get(key)
            if track is None:
                continue
            if mirror.homes[index].locate(thread_id) is not None:
                mirror.touch(index, thread_id)
                continue
            async with mirror.lock(key):
                with contextlib.suppress(ThreadStoreError):
                    await self._gone(key)

    async def _gone(self, key: Key) -> None:
        mirror = self.mirror
        track = mirror.tracks.get(key)
        if track is None:
            return
        try:
            await mirror.syncer.gone(track)
        except Exception as exc:  # the target is away: look again later
            _log.debug("thread %s: gone, not handled yet: %s", key[1], exc)
            self.missing(key)
            return
        mirror.forget(key)
