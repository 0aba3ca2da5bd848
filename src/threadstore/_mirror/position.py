"""Where a rollout stands in the target, found once per thread (and again after a failure).

* The thread is not in the target: nothing of it was sent; everything will be. (A thread the
  target's listing of this host's threads did not show is taken for new without asking; its
  creation is refused if it exists after all, and then it is looked up.)
* Its checkpoint for this source is exact (not ``open``): the target holds the first ``lines``
  lines, ending at byte ``bytes``; the next read checks the tail before going on.
* Otherwise (no checkpoint: a thread checked out here, a mirror on a new machine, one killed
  before writing its first checkpoint; or an ``open`` one: killed mid-burst, or an append that
  failed without saying whether it was stored): the target's lines are read and compared with
  the rollout's, line by line, exactly:

  - the target's lines are the rollout's first lines: carry on after them;
  - the rollout's lines are the target's first lines: the thread went on in the target from
    elsewhere (``behind``); nothing is sent, and if this rollout grows too the thread is
    stopped and reported (never merged) — unless this source had sent more than the rollout
    now holds, which means the rollout was truncated: copied again whole;
  - they differ: if this source had mirrored the thread (a checkpoint of its own), its rollout
    was rewritten: copied again whole; else the thread is stopped and reported.
"""

from __future__ import annotations

import zlib
from typing import Protocol

from threadstore import _json
from threadstore._contract.base import ThreadStore
from threadstore._contract.types import LoadThreadHistoryParams, ReadThreadParams
from threadstore._mirror.checkpoint import Checkpoint, checkpoints
from threadstore._mirror.events import EventKind, SourceTrouble
from threadstore._mirror.home import SourceFile
from threadstore._mirror.reader import numbered_lines, read_all, tail_of
from threadstore._mirror.track import Facts, Track
from threadstore.errors import ThreadNotFound

__all__ = ["Positioner", "establish"]


class Positioner(Protocol):
    """What finding a thread's place needs of the syncer."""

    target: ThreadStore

    def key_of(self, track: Track) -> str:
        """The checkpoint label key of the track's home."""
        ...

    def final(self, source: SourceFile) -> bool:
        """Whether a last line without its newline counts (see :mod:`.reader`)."""
        ...

    def emit(
        self, kind: EventKind, track: Track, lines: int = 0, lag: float | None = None, detail: str = ""
    ) -> None: ...

    async def copy_again(self, track: Track, source: SourceFile, reason: str) -> None: ...


async def establish(syncer: Positioner, track: Track, source: SourceFile) -> None:
    """Find where the rollout stands in the target, unless that is known (see the module
    documentation)."""
    if track.position != "unknown" and not track.uncertain:
        return
    if track.assume_new and track.in_target is None and not track.uncertain:
        track.forget_target()
        track.assume_new = True  # (its creation tells: Conflict if it exists after all)
        return
    try:
        thread = await syncer.target.read_thread(ReadThreadParams(track.thread_id, include_archived=True))
    except ThreadNotFound:
        track.forget_target()
        return
    track.in_target = True
    track.facts = Facts.of(thread)
    every = checkpoints(thread.labels)
    mine = every.pop(syncer.key_of(track), None)
    track.saved = mine
    if mine is not None and not mine.open and not track.uncertain:
        track.take(mine)
        return
    await _compare(syncer, track, source, mine, list(every.values()))


async def _compare(
    syncer: Positioner, track: Track, source: SourceFile, mine: Checkpoint | None, others: list[Checkpoint]
) -> None:
    history = await syncer.target.load_history(
        LoadThreadHistoryParams(track.thread_id, include_archived=True, resolve_forks=False)
    )
    theirs = [_json.dumps(line) for line in history.lines()]
    try:
        data = read_all(source.path)
    except OSError as exc:
        raise SourceTrouble(str(exc)) from exc
    final = syncer.final(source)
    matched = end = 0
    differs = False
    for line, line_end in numbered_lines(data, final=final):
        if matched == len(theirs):
            break
        if _json.dumps(line) != theirs[matched]:
            differs = True
            break
        matched += 1
        end = line_end
    track.uncertain = False
    track.lines, track.offset, track.tail, track.crc = matched, end, tail_of(data[:end]), zlib.crc32(data[:end])
    track.inode = track.written = 0  # (read again, and recorded, when lines are next read)
    if not differs and matched == len(theirs):
        track.position = "known"
        return
    if not differs:
        # The rollout is a beginning of the target's thread: did it go on elsewhere, or did this
        # source send more than the rollout now holds?
        elsewhere = any(cp.open or cp.lines > matched for cp in others)
        truncated = mine is not None and (
            matched < mine.lines or tail_of(data[: mine.offset]) != mine.tail or not elsewhere
        )
        if not truncated:
            track.position = "behind"
            return
        reason = f"it holds {matched} lines, {len(theirs)} were mirrored"
    else:
        reason = f"line {matched + 1} differs from the one mirrored"
    if mine is not None:
        track.position = "known"
        await syncer.copy_again(track, source, reason)
        return
    track.stopped = f"the target's thread and this rollout differ ({reason}): not merged"
    syncer.emit("stopped", track, detail=track.stopped)
