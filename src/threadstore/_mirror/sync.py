"""Bringing one thread of the target up to date with its rollout (the heart of the mirror).

For one thread, :meth:`Syncer.sync`:

1. finds out where the rollout stands in the target, once (:mod:`.position`): the thread's
   checkpoint label, or, when there is none or it is ``open``, the target's lines compared with
   the rollout's;
2. reads the rollout from there (:func:`.reader.read_slice`), checking first that the bytes
   before that point are still those it sent — the last 4 KiB of them on every read, all of
   them (their CRC-32) when the rollout is another file than the one last read or was written
   without growing: a rollout that was rewritten or truncated is reported and copied again
   whole (the target's thread is deleted and written anew), never merged;
3. appends the new lines exactly (``exact=True``), as ``copy`` writes them, each append keyed
   (``idempotency_key``) by the source, the line it starts at and its content, so a retried
   append is stored once; a new thread is created first, from its own first ``session_meta``
   (a fork by reference after its parent);
4. brings the metadata the lines do not carry to the target: for threads with paginated history
   (the 0.169 era, whose renames, memory mode and git facts write no line), the name of
   ``session_index.jsonl`` and the memory mode and git facts of Codex's state database;
   archived or not (where the rollout is); the ``host`` label.

Before the first append of a burst, the thread's checkpoint is marked ``open``; once the
thread has been quiet for ``idle`` seconds, :meth:`Syncer.settle` shuts its writer down (the
lines are durable) and writes the exact checkpoint. So a mirror killed at any moment leaves
either an exact checkpoint or an ``open`` one, and the next run finds its place exactly.

Any store error inside an append leaves the thread *uncertain* (the lines may or may not be
stored): the next attempt first reads where the target stands. Errors of the target as a whole
become :class:`TargetTrouble` (retried with backoff by the engine), a writer held elsewhere
:class:`ThreadBusy`; a refusal of the thread's content stops that thread alone, with a report.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from threadstore._contract.base import ThreadStore
from threadstore._contract.patch import ThreadMetadataPatch, UpdateThreadMetadataParams
from threadstore._contract.serialize import thread_from_fold
from threadstore._contract.types import AppendThreadItemsParams, ReadThreadParams, ResumeThreadParams
from threadstore._mirror.appends import append_key, batches
from threadstore._mirror.checkpoint import checkpoints
from threadstore._mirror.codex_state import StateFacts
from threadstore._mirror.events import EventKind, MirrorEvent, SourceTrouble, TargetTrouble, ThreadBusy
from threadstore._mirror.home import Home, SourceFile
from threadstore._mirror.metadata import wanted
from threadstore._mirror.position import establish
from threadstore._mirror.reader import Slice, prefix_crc, read_slice
from threadstore._mirror.track import Facts, Track
from threadstore._rollout.forks import fork_reference
from threadstore._rollout.items import Item
from threadstore._rollout.summary import ThreadSummary
from threadstore._time import utc_now
from threadstore._transfer.copy import create_params
from threadstore.errors import Conflict, InvalidRequest, ThreadNotFound, ThreadStoreError, Unsupported

__all__ = ["Settings", "Syncer"]

DeletePolicy = Literal["keep", "follow"]


@dataclass(frozen=True, slots=True)
class Settings:
    """``host``: the host label of new threads; ``keys``: each home's checkpoint label key;
    ``final``: a one-off run (a rollout's last line is taken even without its newline);
    ``idle``: seconds of quiet after which a thread's writer is closed."""

    host: str
    keys: tuple[str, ...]
    delete_policy: DeletePolicy = "keep"
    final: bool = False
    idle: float = 2.0


Emit = Callable[[MirrorEvent], None]
StateOf = Callable[[int, str], StateFacts | None]
BeforeFork = Callable[[int, str], Awaitable[None]]


class Syncer:
    """Syncs threads of ``homes`` into ``target`` (see the module documentation)."""

    def __init__(
        self,
        target: ThreadStore,
        homes: list[Home],
        settings: Settings,
        emit: Emit,
        state_of: StateOf,
        before_fork: BeforeFork,
    ) -> None:
        self.target = target
        self.homes = homes
        self.settings = settings
        self._emit = emit
        self._state_of = state_of
        self._before_fork = before_fork

    def emit(self, kind: EventKind, track: Track, lines: int = 0, lag: float | None = None, detail: str = "") -> None:
        home = str(self.homes[track.home].root)
        self._emit(MirrorEvent(kind, track.thread_id, home, lines, lag, detail or None))

    # -- one thread ------------------------------------------------------------------------------

    async def sync(self, track: Track) -> None:
        """Bring the thread up to date (see the module documentation)."""
        if track.stopped:
            return
        source = self.homes[track.home].locate(track.thread_id)
        if source is None:
            return  # gone: the engine decides (after a grace period) with gone()
        try:
            await establish(self, track, source)
            if not track.stopped:
                try:
                    await self._send(track, source)
                except _Exists:  # it was not new after all: find out where it stands, go on
                    await establish(self, track, source)
                    if not track.stopped:
                        await self._send(track, source)
            quiet = self._quiet(source)
            if track.writer and quiet:
                await self.target.shutdown_thread(track.thread_id)  # (the lines are durable now)
                track.writer = False
            if not track.stopped and track.in_target:
                await self._metadata(track, source)
        except ThreadStoreError as exc:
            await self._failed(track, exc)

    def _quiet(self, source: SourceFile) -> bool:
        """Whether the rollout has not been written for ``idle`` seconds (or the run is a
        one-off): the thread's writer can be closed."""
        if self.settings.final:
            return True
        try:
            return time.time() - source.path.stat().st_mtime >= self.settings.idle
        except OSError:
            return True

    async def _failed(self, track: Track, exc: ThreadStoreError) -> None:
        """Sort a store error out (see the module documentation). The thread's place in the
        target is looked up again before its next attempt."""
        await self._release(track)
        track.position = "unknown"
        track.facts = None
        if isinstance(exc, InvalidRequest | Unsupported):
            track.stopped = f"the target refused it: {exc}"
            self.emit("stopped", track, detail=track.stopped)
            return
        if isinstance(exc, Conflict | ThreadNotFound):
            raise ThreadBusy(str(exc)) from exc
        raise TargetTrouble(str(exc)) from exc

    async def _release(self, track: Track) -> None:
        """Drop our writer of the thread, whatever state it is in (best effort)."""
        if track.writer:
            track.writer = False
            with contextlib.suppress(ThreadStoreError):
                await self.target.discard_thread(track.thread_id)

    # -- lines -----------------------------------------------------------------------------------

    async def _send(self, track: Track, source: SourceFile) -> None:
        final = self.final(source)
        if self._changed_in_place(track, source) and prefix_crc(source.path, track.offset) != track.crc:
            await self.copy_again(track, source, "its content changed")
            return
        while True:
            try:
                piece = read_slice(
                    source.path, track.offset, track.tail if track.offset else None, final=final, crc=track.crc
                )
            except OSError as exc:
                raise SourceTrouble(str(exc)) from exc
            if piece.rewritten:
                await self.copy_again(track, source, f"its bytes before position {track.offset} changed")
                return
            if not piece.lines:
                if piece.end != track.offset:  # only unreadable lines: passed over
                    track.offset, track.tail, track.crc = piece.end, piece.tail, piece.crc
                self._note_file(track, source)
                return
            if track.position == "behind":
                track.stopped = "it went on in the target (from another home) and here too: not merged"
                self.emit("stopped", track, detail=track.stopped)
                return
            if not await self._append(track, source, piece):
                return
            self._note_file(track, source)
            if piece.at_end:
                return

    def _changed_in_place(self, track: Track, source: SourceFile) -> bool:
        """Whether the rollout may have changed where the tail check does not look: it is
        another file than the one last read, or it was written without growing (appends are
        all Codex does)."""
        if not track.offset or not track.inode:
            return False
        try:
            stat = source.path.stat()
        except OSError:
            return False
        if stat.st_ino != track.inode:
            return True
        return stat.st_mtime_ns != track.written and (source.compressed or stat.st_size <= track.offset)

    @staticmethod
    def _note_file(track: Track, source: SourceFile) -> None:
        """Remember which file was read, and when it was last written."""
        try:
            stat = source.path.stat()
        except OSError:
            return
        track.inode, track.written = stat.st_ino, stat.st_mtime_ns

    async def copy_again(self, track: Track, source: SourceFile, reason: str) -> None:
        """The rollout was rewritten: delete the target's thread and copy the rollout whole."""
        self.emit("rewritten", track, detail=f"rollout rewritten ({reason}): copying it again whole")
        await self._release(track)
        with contextlib.suppress(ThreadNotFound):
            await self.target.delete_thread(track.thread_id)
        track.forget_target()
        await self._send(track, source)

    async def _append(self, track: Track, source: SourceFile, piece: Slice) -> bool:
        """Append the slice's lines; False when the thread cannot take them (stopped)."""
        lines = piece.lines
        created = not track.in_target
        if created:
            if not await self._create(track, lines):
                return False
        else:
            if not track.writer:
                await self.target.resume_thread(
                    ResumeThreadParams(track.thread_id, include_archived=True, event_persistence_mode="extended")
                )
                track.writer = True
            if (track.saved is None or not track.saved.open) and not await self._open_checkpoint(track):
                return False
        for batch, digest in batches(lines):
            key = append_key(self.key_of(track), track.lines, len(batch), digest)
            track.uncertain = True
            await self.target.append_items(
                AppendThreadItemsParams(track.thread_id, batch, exact=True, idempotency_key=key)
            )
            track.uncertain = False
            track.lines += len(batch)
            track.in_target = True
        track.offset, track.tail, track.crc = piece.end, piece.tail, piece.crc
        track.last_sent = time.monotonic()
        lag = _lag(source)
        self.emit("created" if created else "appended", track, len(lines), lag)
        # (A thread this source created has no checkpoint yet: should the mirror stop before
        # writing one, the next run compares the target's lines with the rollout's.)
        return True

    async def _create(self, track: Track, lines: list[Item]) -> bool:
        first = lines[0]
        payload = first.get("payload")
        if first.get("type") != "session_meta" or not isinstance(payload, dict) or payload.get("id") != track.thread_id:
            track.stopped = "the rollout does not start with the thread's own session_meta"
            self.emit("stopped", track, detail=track.stopped)
            return False
        reference = fork_reference(lines)
        if reference is not None:
            await self._before_fork(track.home, reference[0])
        summary = ThreadSummary(track.thread_id)
        summary.add_all(
            [{k: v for k, v in line.items() if k != "timestamp"} for line in lines],
            [line.get("timestamp") if isinstance(line.get("timestamp"), str) else None for line in lines],
        )
        thread = thread_from_fold(summary, thread_id=track.thread_id, fallback_time=utc_now())
        try:
            await self.target.create_thread(create_params(thread, payload))
        except Conflict:
            if not track.assume_new:
                raise
            track.assume_new = False
            track.position, track.in_target = "unknown", None
            raise _Exists from None
        track.writer = True
        track.facts = Facts.of(thread)  # what the target makes of these lines
        return True

    async def _open_checkpoint(self, track: Track) -> bool:
        """Mark the checkpoint open before appending; False (the thread stopped) when another
        source carried the thread further than this one (its lines would be merged after
        theirs)."""
        opened = track.checkpoint().opened()
        await self._patch(track, ThreadMetadataPatch(labels={self.key_of(track): opened.encode()}))
        track.saved = opened
        assert track.facts is not None
        mine = self.key_of(track)
        ahead = [key for key, cp in checkpoints(track.facts.labels).items() if key != mine and cp.lines > track.lines]
        if ahead:
            track.stopped = f"the thread went on in the target from another home ({ahead[0]}) and here too: not merged"
            self.emit("stopped", track, detail=track.stopped)
            await self.settle(track)
            return False
        return True

    # -- metadata --------------------------------------------------------------------------------

    def key_of(self, track: Track) -> str:
        return self.settings.keys[track.home]

    def final(self, source: SourceFile) -> bool:
        return self.settings.final or source.compressed

    async def _patch(self, track: Track, patch: ThreadMetadataPatch) -> None:
        thread = await self.target.update_thread_metadata(
            UpdateThreadMetadataParams(track.thread_id, patch, include_archived=True)
        )
        track.facts = Facts.of(thread)

    async def _metadata(self, track: Track, source: SourceFile) -> None:
        facts = track.facts
        assert facts is not None
        home = self.homes[track.home]
        want = wanted(
            track,
            facts,
            name=home.name_of(track.thread_id),
            state=self._state_of(track.home, track.thread_id),
            host=self.settings.host,
            key=self.key_of(track),
        )
        if want.patch is not None:
            await self._patch(track, want.patch)
            if want.checkpoint is not None:
                track.saved = want.checkpoint
        if want.fields:
            self.emit("metadata", track, detail=", ".join(want.fields))
        if source.archived != facts.archived:
            await self.settle(track)
            try:
                if source.archived:
                    await self.target.archive_thread(track.thread_id)
                else:
                    await self.target.unarchive_thread(track.thread_id)
            except InvalidRequest:  # it already was (someone else moved it meanwhile)
                pass
            assert track.facts is not None  # (settling may have read the thread anew)
            track.facts.archived = source.archived
            self.emit("archived" if source.archived else "unarchived", track)

    async def settle(self, track: Track) -> None:
        """Close the thread's writer (its lines are then durable) and write its exact
        checkpoint."""
        if track.writer:
            await self.target.shutdown_thread(track.thread_id)
            track.writer = False
        checkpoint = track.checkpoint()
        if track.in_target and track.position == "known" and track.saved != checkpoint:
            await self._patch(track, ThreadMetadataPatch(labels={self.key_of(track): checkpoint.encode()}))
            track.saved = checkpoint

    async def gone(self, track: Track) -> None:
        """The thread's rollout left the home: delete it from the target (``follow``) or keep
        it there (``keep``)."""
        try:
            if track.writer:
                await self.settle(track)
            if self.settings.delete_policy == "follow" and track.in_target is None:
                # Never looked at: delete it only if this source mirrored it.
                with contextlib.suppress(ThreadNotFound):
                    thread = await self.target.read_thread(ReadThreadParams(track.thread_id, include_archived=True))
                    track.in_target = self.key_of(track) in thread.labels
            if self.settings.delete_policy == "follow" and track.in_target:
                with contextlib.suppress(ThreadNotFound):
                    await self.target.delete_thread(track.thread_id)
                self.emit("deleted", track)
            else:
                self.emit("kept", track)
        except ThreadStoreError as exc:
            await self._failed(track, exc)


class _Exists(Exception):
    """A thread taken for new (not among the target's threads of this host) exists there."""


def _lag(source: SourceFile) -> float | None:
    try:
        return max(0.0, time.time() - source.path.stat().st_mtime)
    except OSError:
        return None
