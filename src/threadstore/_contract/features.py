"""Optional features a store may have beyond the contract, as typed protocols.

A caller asks ``isinstance(store, Reindexable)`` (the protocols are runtime-checkable) and then
calls the feature with its types known; no backend is named and no attribute is probed by name.

* :class:`RolloutFiles`: threads live in rollout files, so a live thread has a file path (the
  local store).
* :class:`Reindexable`: the store keeps an index it can rebuild from its files.
* :class:`IndexProgress`: the store reports progress while it indexes many files at once (a
  first look at a large home).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["IndexProgress", "ProgressCallback", "ReindexReport", "Reindexable", "RolloutFiles"]

ProgressCallback = Callable[[int, int], None]
"""Called with (done, total) as long work moves on."""


@dataclass(frozen=True, slots=True)
class ReindexReport:
    """What a rebuild of an index found: threads indexed, torn or corrupt lines skipped, files
    that could not be read."""

    threads: int
    skipped_lines: int
    unreadable_files: int


@runtime_checkable
class RolloutFiles(Protocol):
    """A store whose threads live in rollout files."""

    def live_rollout_path(self, thread_id: str) -> Path:
        """The rollout file of a live thread (it may not exist yet if nothing was written);
        ``ThreadNotFound`` when the thread has no live writer here."""
        ...


@runtime_checkable
class Reindexable(Protocol):
    """A store with an index it can rebuild from its files."""

    async def reindex(self, progress: ProgressCallback | None = None) -> ReindexReport:
        """Rebuild the index from the files; ``progress`` hears (files read, files to read)."""
        ...


@runtime_checkable
class IndexProgress(Protocol):
    """A store that reports progress while it indexes many files at once."""

    index_progress: ProgressCallback | None
