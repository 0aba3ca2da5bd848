"""Optional features a store may have beyond the contract, as typed protocols.

A caller asks ``isinstance(store, Reindexable)`` (the protocols are runtime-checkable) and then
calls the feature with its types known; no backend is named and no attribute is probed by name.

* :class:`RolloutFiles`: threads live in rollout files, so a live thread has a file path (the
  local store).
* :class:`Reindexable`: the store keeps an index it can rebuild from its files.
* :class:`IndexProgress`: the store reports progress while it indexes many files at once (a
  first look at a large home).
* :class:`OneShotAppends`: the store appends to a thread nobody holds in one step (the writer
  taken, the items stored, the writer released, atomically): what a short-lived writer, such as
  an Agents SDK session, would otherwise do in three calls (the PostgreSQL store: one
  transaction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from threadstore._contract.types import AppendThreadItemsParams, CreateThreadParams

__all__ = ["IndexProgress", "OneShotAppends", "ProgressCallback", "ReindexReport", "Reindexable", "RolloutFiles"]

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


@runtime_checkable
class OneShotAppends(Protocol):
    """A store that appends to a thread no live writer holds in one atomic step."""

    async def append_unheld(self, create: CreateThreadParams, params: AppendThreadItemsParams) -> None:
        """What ``resume_thread`` (``include_archived=True``; ``create_thread(create)`` when the
        thread does not exist), ``append_items(params)`` and ``shutdown_thread`` would do, as
        one step: all of it or none of it is stored, and the thread has no live writer before
        or after. ``Conflict`` when a live writer holds the thread (in this store or, for the
        stores that know, anywhere else); nothing is stored then."""
        ...
