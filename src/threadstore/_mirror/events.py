"""What a mirror reports: one :class:`MirrorEvent` per thing that moved or went wrong, and the
reasons a thread's work is put off (:class:`TargetTrouble`, :class:`ThreadBusy`,
:class:`SourceTrouble`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["EventKind", "MirrorEvent", "SourceTrouble", "TargetTrouble", "ThreadBusy"]

EventKind = Literal[
    "created",  # a thread new to the target, with its first lines
    "appended",  # lines added to a thread the target had
    "metadata",  # name, memory mode, git facts or host label set in the target
    "archived",
    "unarchived",
    "deleted",  # gone from the home, deleted from the target (--delete-policy follow)
    "kept",  # gone from the home, kept in the target (--delete-policy keep)
    "rewritten",  # the rollout was rewritten or truncated: copied again whole
    "stopped",  # a thread the mirror cannot carry on (it says why); others go on
    "target_down",  # the target failed: retrying with backoff, changes keep queuing
    "target_up",
    "caught_up",  # everything the homes held when the mirror started is in the target
]


@dataclass(frozen=True, slots=True)
class MirrorEvent:
    """One event. ``lines`` counts the lines moved; ``lag`` (seconds) is how long after the
    rollout was last written the lines were in the target; ``detail`` says more (a reason,
    the metadata fields set)."""

    kind: EventKind
    thread_id: str | None = None
    home: str | None = None
    lines: int = 0
    lag: float | None = None
    detail: str | None = None
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"event": self.kind}
        if self.thread_id is not None:
            data["thread_id"] = self.thread_id
        if self.home is not None:
            data["home"] = self.home
        if self.lines:
            data["lines"] = self.lines
        if self.lag is not None:
            data["lag_ms"] = round(self.lag * 1000, 1)
        if self.detail:
            data["detail"] = self.detail
        return data


class TargetTrouble(Exception):
    """The target failed in a way that may pass (it is down, restarting, out of room): the
    work is retried, with backoff."""


class ThreadBusy(Exception):
    """Another writer holds the thread in the target: this thread is retried later."""


class SourceTrouble(Exception):
    """A rollout could not be read just now (moved or removed while being read): retried on
    the next look."""
