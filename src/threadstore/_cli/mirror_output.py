"""What ``threadstore mirror`` prints while it runs.

* On a terminal (stderr is one, no ``--quiet``, no ``--json``): one progress line, redrawn twice
  a second: threads followed, queued, lines moved, the last lag, and whether the target is
  down (retrying) or everything is caught up; warnings (a rewritten rollout, a stopped thread)
  print above it.
* Otherwise: structured logs, one JSON object per event on stderr
  (``{"time", "level", "event", "thread_id", "home", "lines", "lag_ms", "detail"}``).
* ``--json``: the events go to stdout instead, one JSON object per line
  (``{"time", "event", ...}``), for programs (a one-off run prints a single summary object at
  the end instead; see :mod:`.mirror`).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Final

from rich.console import Console
from rich.live import Live
from rich.text import Text

from threadstore import _json
from threadstore._mirror.engine import Mirror
from threadstore._mirror.events import MirrorEvent

__all__ = ["MirrorOutput"]

_WARNINGS: Final = frozenset({"rewritten", "stopped", "target_down"})


class MirrorOutput:
    """Prints a mirror's events and progress (see the module documentation)."""

    def __init__(self, *, progress: bool, events_to_stdout: bool, logs: bool, target: str) -> None:
        self.progress = progress
        self.logs = logs
        self.events_to_stdout = events_to_stdout
        self.target = target
        self._console = Console(stderr=True, highlight=False)
        self._live: Live | None = None
        self._mirror: Mirror | None = None

    def attach(self, mirror: Mirror) -> None:
        self._mirror = mirror
        if self.progress:
            self._live = Live(self._line(), console=self._console, refresh_per_second=2, transient=True)
            self._live.start()

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._line())

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def event(self, event: MirrorEvent) -> None:
        stamp = datetime.fromtimestamp(event.at, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        if self.events_to_stdout:
            sys.stdout.write(_json.dumps_str({"time": stamp, **event.to_json()}) + "\n")
            sys.stdout.flush()
            return
        if self.progress:
            if event.kind in _WARNINGS:
                self._console.print(Text(_human(event)))
            self.refresh()
            return
        if not self.logs:
            return
        record = {
            "time": stamp,
            "level": "warning" if event.kind in _WARNINGS else "info",
            **event.to_json(),
        }
        sys.stderr.write(_json.dumps_str(record) + "\n")
        sys.stderr.flush()

    def _line(self) -> Text:
        if self._mirror is None:
            return Text("")
        status = self._mirror.status()
        parts = [
            f"mirror -> {self.target}",
            f"{status.threads:,} threads",
            f"{status.queued:,} queued",
            f"{status.lines:,} lines moved",
        ]
        if status.last_lag is not None:
            parts.append(f"last lag {status.last_lag * 1000:.0f} ms")
        if status.target_down is not None:
            retry = f" (retry in {status.retry_in:.0f} s)" if status.retry_in is not None else ""
            parts.append(f"target down{retry}")
        elif status.caught_up:
            parts.append("caught up, following")
        else:
            parts.append("catching up")
        return Text(" · ".join(parts))


def _human(event: MirrorEvent) -> str:
    what = event.kind.replace("_", " ")
    thread = f" {event.thread_id}" if event.thread_id else ""
    detail = f": {event.detail}" if event.detail else ""
    return f"{what}{thread}{detail}"
