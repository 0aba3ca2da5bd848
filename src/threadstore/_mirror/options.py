"""How a mirror runs (:class:`MirrorOptions`), a snapshot of it for a progress line
(:class:`MirrorStatus`), and what it reports when it ends (:class:`MirrorReport`)."""

from __future__ import annotations

import socket
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from threadstore._mirror.events import MirrorEvent
from threadstore._mirror.sync import DeletePolicy

__all__ = ["MirrorOptions", "MirrorReport", "MirrorStatus"]


@dataclass(frozen=True, slots=True)
class MirrorOptions:
    """How a mirror runs. ``host_label``: the ``host`` label of the threads it creates
    (default: this machine's name); ``delete_policy``: ``keep`` threads whose rollouts left the
    home, or ``follow`` (delete them from the target too); ``once``: sync everything, then
    stop; ``jobs``: threads synced at once; ``idle``: seconds of quiet after which a thread's
    writer is closed and its checkpoint written; ``sweep``: seconds between looks at every
    rollout (catching what a watch cannot report; without inotify, ``poll`` instead);
    ``give_up``: with ``once``, seconds the target may stay down before the run fails."""

    host_label: str = field(default_factory=socket.gethostname)
    delete_policy: DeletePolicy = "keep"
    once: bool = False
    jobs: int = 4
    idle: float = 2.0
    sweep: float = 30.0
    poll: float = 1.0
    give_up: float = 60.0
    watch: bool = True


@dataclass(frozen=True, slots=True)
class MirrorStatus:
    """A snapshot for a progress line."""

    threads: int
    queued: int
    writers: int
    caught_up: bool
    target_down: str | None
    retry_in: float | None
    counts: dict[str, int]
    lines: int
    last_lag: float | None


@dataclass
class MirrorReport:
    """What moved: counts of events by kind, lines sent, and (for a one-off run) every event."""

    counts: Counter[str] = field(default_factory=Counter)
    lines: int = 0
    events: list[MirrorEvent] = field(default_factory=list)
    #: Why the run ended early (a one-off run whose target stayed down), if it did.
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.counts["stopped"]

    def to_json(self) -> dict[str, Any]:
        kinds = ("created", "appended", "metadata", "archived", "unarchived", "deleted", "kept", "rewritten", "stopped")
        data: dict[str, Any] = {kind: self.counts[kind] for kind in kinds}
        data["lines"] = self.lines
        data["error"] = self.error
        data["events"] = [e.to_json() for e in self.events if e.kind not in ("target_down", "target_up")]
        return data
