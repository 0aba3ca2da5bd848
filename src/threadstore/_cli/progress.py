"""Progress bars for long work (a first index, a reindex, a copy): on stderr, only when stderr
is a terminal, never with ``--quiet``. A bar appears only once the work is known to be long
enough to be worth one (``threshold`` units), so quick runs print nothing."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from threadstore._contract.base import ThreadStore
from threadstore._contract.features import IndexProgress

__all__ = ["ProgressBar", "index_progress", "progress_wanted"]


def progress_wanted(quiet: bool) -> bool:
    """True when progress should be shown: stderr is a terminal and ``--quiet`` was not given."""
    return not quiet and sys.stderr.isatty()


class ProgressBar:
    """One task's bar, started on the first :meth:`update` whose total reaches ``threshold``;
    :meth:`close` removes it (``transient``) or leaves it (the last state stays on screen)."""

    def __init__(
        self,
        description: str,
        *,
        enabled: bool,
        threshold: int = 0,
        transient: bool = True,
        console: Console | None = None,
    ) -> None:
        self.description = description
        self.console = console
        self.enabled = enabled
        self.threshold = threshold
        self._progress: Progress | None = None
        self._task: Any = None
        self._transient = transient

    def update(self, done: int, total: int | None, description: str | None = None) -> None:
        """Record ``done`` of ``total`` units (``total`` None: unknown yet)."""
        if not self.enabled or (total is not None and total < self.threshold):
            return
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console or Console(stderr=True),
                transient=self._transient,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=total)
        self._progress.update(self._task, completed=done, total=total, description=description or self.description)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


@contextlib.contextmanager
def index_progress(store: ThreadStore, *, enabled: bool, threshold: int = 500) -> Iterator[None]:
    """While inside, a local store that indexes at least ``threshold`` new rollouts (a first look
    at a large home) shows a bar."""
    if not enabled or not isinstance(store, IndexProgress):
        yield
        return
    bar = ProgressBar("indexing rollouts", enabled=True, threshold=threshold)
    store.index_progress = bar.update
    try:
        yield
    finally:
        store.index_progress = None
        bar.close()
