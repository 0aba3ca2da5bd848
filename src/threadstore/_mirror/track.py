"""What a mirror knows about one thread while it runs: where its rollout stands in the target
(:class:`Track`) and the target's metadata of it, as last seen (:class:`Facts`).

Only small values are kept (no history, no preview), so a mirror of a home of many thousands
of threads stays small in memory however long it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from threadstore._contract.thread import GitInfo, StoredThread
from threadstore._mirror.checkpoint import Checkpoint
from threadstore._mirror.codex_state import StateFacts

__all__ = ["Facts", "Key", "Track"]

Position = Literal["unknown", "known", "behind"]

#: A thread of a home: (the home's index among the mirror's homes, the thread id).
Key = tuple[int, str]


@dataclass(slots=True)
class Facts:
    """The target's metadata of a thread that the mirror follows."""

    archived: bool
    name: str | None
    memory_mode: str
    git_info: GitInfo | None
    paginated: bool
    labels: dict[str, str]

    @classmethod
    def of(cls, thread: StoredThread) -> Facts:
        return cls(
            archived=thread.archived,
            name=thread.name,
            memory_mode=thread.memory_mode,
            git_info=thread.git_info,
            paginated=thread.history_mode == "paginated",
            labels=dict(thread.labels),
        )


@dataclass(slots=True)
class Track:
    """One thread of one source home, as the mirror follows it.

    ``lines`` / ``offset`` / ``tail`` / ``crc``: the target holds the first ``lines`` lines of
    the rollout, which end at byte ``offset``, whose tail checksum is ``tail`` and whole
    checksum ``crc``; ``inode`` / ``written``: the rollout's file and last write time when it
    was last read. ``position`` says
    whether that is established (``known``), still to be found out (``unknown``: from the
    target's checkpoint, or by reading the target), or whether the target already holds more
    of the thread than this rollout (``behind``: it went on elsewhere). ``saved`` is the
    checkpoint as last written to (or read from) the target."""

    thread_id: str
    home: int
    position: Position = "unknown"
    lines: int = 0
    offset: int = 0
    tail: int = 0
    crc: int = 0
    inode: int = 0
    written: int = 0
    #: Taken for new: the target's listing of this host's threads did not show it.
    assume_new: bool = False
    #: Whether the thread exists in the target (None: not asked yet).
    in_target: bool | None = None
    facts: Facts | None = None
    saved: Checkpoint | None = None
    #: Whether the mirror holds the thread's live writer in the target.
    writer: bool = False
    #: Monotonic time of the last append (or other change) sent.
    last_sent: float = 0.0
    #: An append failed without telling whether it was stored: read the target before going on.
    uncertain: bool = False
    #: What Codex's state database said of a thread from another machine, when last looked at.
    state_seen: StateFacts | None = None
    #: Why the thread is not mirrored (a rollout the target cannot take, a thread that went on
    #: differently in the target); cleared when the rollout changes identity or is rewritten.
    stopped: str | None = None

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.lines, self.offset, self.tail, self.crc, self.inode, self.written)

    def take(self, checkpoint: Checkpoint) -> None:
        """Take the position a checkpoint gives."""
        self.lines, self.offset, self.tail, self.crc = (
            checkpoint.lines,
            checkpoint.offset,
            checkpoint.tail,
            checkpoint.crc,
        )
        self.inode, self.written = checkpoint.inode, checkpoint.written
        self.position = "known"

    def forget_target(self) -> None:
        """Start over as if the target had never seen the thread (after deleting it there)."""
        self.position = "known"
        self.lines = self.offset = self.tail = self.crc = self.inode = self.written = 0
        self.in_target = False
        self.assume_new = False
        self.facts = None
        self.saved = None
        self.writer = False
        self.uncertain = False
