"""The mirror: homes watched, threads queued, workers syncing them into the target.

:class:`Mirror` runs until stopped (or, with ``once``, until everything the homes hold is in
the target). Its parts:

* every home is looked at once at the start (each thread queued, oldest first), then followed
  (:mod:`.follow`): inotify reports what changes, a sweep now and then catches the rest;
* ``jobs`` workers take threads from the queue (:mod:`.queue`) and sync each
  (:mod:`.sync`), one worker per thread at a time;
* when the target fails, it is asked whether it is up at all: if not, every worker waits with
  exponential backoff (up to :data:`MAX_BACKOFF` seconds) while the homes keep being followed
  and changes keep queuing; if it is, the thread alone is retried later (a few times, then
  stopped and reported). A thread whose writer another program holds in the target is
  retried, with backoff, until it is free.

Stopping (:meth:`Mirror.stop`, or SIGTERM in the command) lets the workers finish the thread
in hand, then closes every writer the mirror holds and writes their checkpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from threadstore._contract.base import ThreadStore
from threadstore._contract.listing import ListThreadsParams
from threadstore._mirror.checkpoint import HOST_LABEL, checkpoints, source_key
from threadstore._mirror.codex_state import StateFacts, read_state_facts
from threadstore._mirror.events import MirrorEvent, SourceTrouble, TargetTrouble, ThreadBusy
from threadstore._mirror.follow import Follower
from threadstore._mirror.home import Home
from threadstore._mirror.options import MirrorOptions, MirrorReport, MirrorStatus
from threadstore._mirror.queue import WorkQueue
from threadstore._mirror.sync import Settings, Syncer
from threadstore._mirror.track import Facts, Key, Track
from threadstore._rollout.files import logical_path
from threadstore.errors import ThreadStoreError

__all__ = ["MAX_BACKOFF", "Mirror", "MirrorOptions", "MirrorReport", "MirrorStatus"]

_log: Final = logging.getLogger("threadstore.mirror")

#: The longest wait between two attempts to reach a target that is down (seconds).
MAX_BACKOFF: Final = 30.0
#: How often one thread is retried when the target is up but fails on it.
_THREAD_ATTEMPTS: Final = 6
#: How long a stopping mirror spends closing its writers, in all (seconds).
_SETTLE_WITHIN: Final = 15.0

#: The threads the current task is syncing (a fork syncs its parent first; no cycles).
_chain: contextvars.ContextVar[frozenset[Key]] = contextvars.ContextVar("mirror_chain", default=frozenset())


class Mirror:
    """Keeps ``target`` an exact copy of the Codex ``homes`` (see the module documentation)."""

    def __init__(
        self,
        target: ThreadStore,
        homes: Sequence[Path],
        options: MirrorOptions | None = None,
        *,
        on_event: Callable[[MirrorEvent], None] | None = None,
    ) -> None:
        self.target = target
        self.options = options or MirrorOptions()
        roots = list(dict.fromkeys(Path(h).expanduser().resolve() for h in homes))
        watch = self.options.watch and not self.options.once
        self.homes = [Home(root, watch=watch) for root in roots]
        keys = tuple(source_key(self.options.host_label, home.root) for home in self.homes)
        settings = Settings(
            self.options.host_label, keys, self.options.delete_policy, self.options.once, self.options.idle
        )
        self.syncer = Syncer(target, self.homes, settings, self._emit, self._state_of, self._before_fork)
        self.tracks: dict[Key, Track] = {}
        self.queue: WorkQueue[Key] = WorkQueue()
        self.report = MirrorReport()
        self._on_event = on_event
        self._locks: dict[Key, asyncio.Lock] = {}
        self._owner: dict[str, int] = {}
        self._doubles: set[Key] = set()
        self._state: list[dict[str, StateFacts]] = [{} for _ in self.homes]
        self._retries: dict[Key, int] = {}
        self._down: str | None = None
        self._down_since = 0.0
        self._failures = 0
        self._backoff_until = 0.0
        self._last_lag: float | None = None
        self._initial: set[Key] = set()
        self._caught_up = False
        self._stop = asyncio.Event()
        self.follower = Follower(self, sweep=self.options.sweep, poll=self.options.poll, idle=self.options.idle)

    # -- reporting -------------------------------------------------------------------------------

    def _emit(self, event: MirrorEvent) -> None:
        self.report.counts[event.kind] += 1
        self.report.lines += event.lines
        if event.lag is not None:
            self._last_lag = event.lag
        if self.options.once:
            self.report.events.append(event)
        if self._on_event is not None:
            self._on_event(event)

    def status(self) -> MirrorStatus:
        now = time.monotonic()
        return MirrorStatus(
            threads=len(self.tracks),
            queued=len(self.queue),
            writers=sum(1 for t in self.tracks.values() if t.writer),
            caught_up=self._caught_up,
            target_down=self._down,
            retry_in=max(0.0, self._backoff_until - now) if self._down else None,
            counts=dict(self.report.counts),
            lines=self.report.lines,
            last_lag=self._last_lag,
        )

    # -- threads ---------------------------------------------------------------------------------

    def touch(self, home: int, thread_id: str, *, hot: bool = True) -> None:
        """Queue a thread of a home to be looked at."""
        owner = self._owner.setdefault(thread_id, home)
        if owner != home:  # the same thread in two homes: the first home given carries it
            if (home, thread_id) not in self._doubles:
                self._doubles.add((home, thread_id))
                detail = f"the same thread is in {self.homes[owner].root}, which carries it"
                self._emit(MirrorEvent("stopped", thread_id, str(self.homes[home].root), detail=detail))
            return
        key = (home, thread_id)
        if key not in self.tracks:
            self.tracks[key] = Track(thread_id, home)
        self.queue.put(key, hot=hot)

    def forget(self, key: Key) -> None:
        self.tracks.pop(key, None)
        self._locks.pop(key, None)
        self._retries.pop(key, None)
        if self._owner.get(key[1]) == key[0]:
            del self._owner[key[1]]

    def lock(self, key: Key) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def _state_of(self, home: int, thread_id: str) -> StateFacts | None:
        return self._state[home].get(thread_id)

    def refresh_state(self, home: int, facts: dict[str, StateFacts]) -> None:
        """New facts from a home's Codex state database: queue the threads they changed."""
        before, self._state[home] = self._state[home], facts
        for thread_id, fact in facts.items():
            if before.get(thread_id) != fact and (home, thread_id) in self.tracks:
                self.queue.put((home, thread_id))

    async def _before_fork(self, home: int, parent_id: str) -> None:
        """Sync a fork's parent before the fork is created (its lines stand on the parent's)."""
        key = (home, parent_id)
        chain = _chain.get()
        track = self.tracks.get(key)
        if track is None or key in chain:
            return
        token = _chain.set(chain | {key})
        try:
            async with self.lock(key):
                await self.syncer.sync(track)
        finally:
            _chain.reset(token)

    # -- running ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the mirror to stop (it finishes the threads in hand and closes its writers)."""
        self._stop.set()

    async def run(self) -> MirrorReport:
        """Run until :meth:`stop` (or, with ``once``, until everything is in the target)."""
        loop = asyncio.get_running_loop()
        for index, home in enumerate(self.homes):
            home.read_names()
            self._state[index] = await asyncio.to_thread(read_state_facts, home.root)
            found = home.sweep()
            order = sorted(found, key=lambda tid, h=home: _age(h, tid))  # type: ignore[misc]
            for thread_id in order:
                self.touch(index, thread_id, hot=False)
        self._initial = set(self.tracks)
        workers: list[asyncio.Task[None]] = []
        try:
            if not await self._preload():
                return self.report
            self.follower.start(loop)
            if not self._initial:
                self._caught_up = True
                self._emit(MirrorEvent("caught_up"))
            workers = [loop.create_task(self._worker(), name=f"mirror-{n}") for n in range(max(1, self.options.jobs))]
            if self.options.once:
                done = loop.create_task(self.queue.drained())
                stopped = loop.create_task(self._stop.wait())
                await asyncio.wait({done, stopped}, return_when=asyncio.FIRST_COMPLETED)
                done.cancel()
                stopped.cancel()
            else:
                await self._stop.wait()
        finally:
            self.queue.close()
            for task in workers:
                await asyncio.gather(task, return_exceptions=True)
            self.follower.stop(loop)
            await self._settle_all()
            for home in self.homes:
                home.close()
        return self.report

    async def _settle_all(self) -> None:
        """Close every writer still open and write its checkpoint, within
        :data:`_SETTLE_WITHIN` seconds in all (what cannot be written now — the target is
        down — stays ``open`` in the target: the next run reads the target to find its place)."""
        deadline = time.monotonic() + _SETTLE_WITHIN
        for key, track in list(self.tracks.items()):
            left = deadline - time.monotonic()
            if not track.writer or left <= 0 or self._down is not None:
                continue
            try:
                async with self.lock(key):
                    await asyncio.wait_for(self.syncer.settle(track), timeout=left)
            except (ThreadStoreError, TimeoutError) as exc:
                _log.warning("thread %s: writer not closed cleanly: %s", track.thread_id, exc)

    async def _preload(self) -> bool:
        """Learn the target's checkpoints of the threads this host created (a page of many at
        once instead of one read per thread); retried while the target is down. False when a
        one-off run gave up, or the mirror was stopped meanwhile."""
        started = time.monotonic()
        while not self._stop.is_set():
            try:
                await self._list_own()
            except ThreadStoreError as exc:
                if self.options.once and time.monotonic() - started > self.options.give_up:
                    self.report.error = f"the target is not answering: {exc}"
                    return False
                self._target_failed(str(exc))
                await self._wait_backoff()
                continue
            self._target_ok()
            for track in self.tracks.values():
                if track.in_target is None and track.position == "unknown":
                    track.assume_new = True
            return True
        return False

    async def _list_own(self) -> None:
        keys = self.syncer.settings.keys
        for archived in (False, True):
            cursor: str | None = None
            while True:
                page = await self.target.list_threads(
                    ListThreadsParams(
                        page_size=1000, cursor=cursor, archived=archived, labels={HOST_LABEL: self.options.host_label}
                    )
                )
                for thread in page.items:
                    found = checkpoints(thread.labels)
                    for index, key in enumerate(keys):
                        checkpoint = found.get(key)
                        if checkpoint is not None:
                            self._preloaded(index, thread.thread_id, checkpoint, Facts.of(thread))
                cursor = page.next_cursor
                if not cursor or not page.items:
                    break

    def _preloaded(self, home: int, thread_id: str, checkpoint: Any, facts: Facts) -> None:
        key = (home, thread_id)
        track = self.tracks.get(key)
        if track is None:
            if self.options.delete_policy == "follow" and self._owner.get(thread_id, home) == home:
                # In the target, gone from the home while no mirror was watching it.
                self._owner[thread_id] = home
                self.tracks[key] = Track(thread_id, home, in_target=True, facts=facts)
                self.queue.put(key, hot=False)
            return
        track.in_target, track.facts, track.saved = True, facts, checkpoint
        if not checkpoint.open:
            track.take(checkpoint)

    async def _worker(self) -> None:
        while (key := await self.queue.get()) is not None:
            track: Track | None = None
            try:
                await self._wait_backoff()
                track = self.tracks.get(key)
                if track is not None and not self._stop.is_set():
                    async with self.lock(key):
                        await self._work(key, track)
            except Exception:  # a bug must not take the whole mirror down
                _log.exception("thread %s: unexpected failure", key[1])
            finally:
                self.queue.done()
                if key not in self.tracks or (track is not None and track.stopped):
                    self._initial.discard(key)
                if not self._initial and not self._caught_up:
                    self._caught_up = True
                    self._emit(MirrorEvent("caught_up"))

    async def _work(self, key: Key, track: Track) -> None:
        try:
            if self.homes[key[0]].locate(track.thread_id) is None:
                if not self.options.once:
                    self.follower.missing(key)
                    return
                self.follower.rescan(key[0])  # a one-off run: gone unless it just moved
                if self.homes[key[0]].locate(track.thread_id) is None:
                    await self.syncer.gone(track)
                    self.forget(key)
                    return
            _chain.set(frozenset({key}))
            await self.syncer.sync(track)
        except TargetTrouble as exc:
            if await self._target_up():
                self._retry_thread(key, track, str(exc))
            else:
                self._target_failed(str(exc))
                self.queue.put(key)
            return
        except ThreadBusy as exc:  # another writer holds it: wait for it, however long
            self._retry_thread(key, track, str(exc), quiet=True)
            return
        except SourceTrouble:
            self.follower.rescan(key[0])
            self._retry_thread(key, track, "the rollout could not be read")
            return
        self._retries.pop(key, None)
        self._initial.discard(key)
        self._target_ok()

    def _retry_thread(self, key: Key, track: Track, reason: str, *, quiet: bool = False) -> None:
        attempts = self._retries.get(key, 0) + 1
        self._retries[key] = attempts
        if attempts > _THREAD_ATTEMPTS and not quiet:
            track.stopped = f"gave up after {attempts - 1} attempts: {reason}"
            self.syncer.emit("stopped", track, detail=track.stopped)
            return
        delay = min(MAX_BACKOFF, 0.5 * 2 ** (attempts - 1))
        self.queue.hold()
        asyncio.get_running_loop().call_later(delay, self.queue.release, key if key in self.tracks else None)

    async def _target_up(self) -> bool:
        try:
            await self.target.list_threads(ListThreadsParams(page_size=1))
        except ThreadStoreError:
            return False
        return True

    def _target_failed(self, reason: str) -> None:
        now = time.monotonic()
        if self._down is None:
            self._down_since = now
        elif self.options.once and now - self._down_since > self.options.give_up:
            self.report.error = f"the target is not answering: {reason}"
            self.stop()
        if now < self._backoff_until:
            return  # (several workers failing at once count as one failure)
        self._failures += 1
        delay = min(MAX_BACKOFF, 0.25 * 2 ** min(self._failures - 1, 10))
        self._backoff_until = now + delay
        if self._down is None:
            self._down = reason
            self._emit(MirrorEvent("target_down", detail=f"{reason} (retrying)"))

    def _target_ok(self) -> None:
        self._failures = 0
        if self._down is not None:
            self._down = None
            self._emit(MirrorEvent("target_up"))

    async def _wait_backoff(self) -> None:
        delay = self._backoff_until - time.monotonic()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=delay)


def _age(home: Home, thread_id: str) -> str:
    """A sort key putting older rollouts first (their names start with their creation time)."""
    source = home.locate(thread_id)
    return logical_path(source.path.name) if source is not None else ""
