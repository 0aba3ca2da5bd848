"""The catalog's background fill: starting it, learning what it recorded, waiting for it.

:class:`FillControl` is part of :class:`~.catalog.Catalog` (its base class), kept apart so that
each module stays about one thing: the catalog keeps the index true to the files, this starts
and follows the :class:`~.fill.Fill` that indexes many rollouts at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from threadstore._backends.local.fill import Fill
from threadstore._backends.local.index import Index, PageQuery
from threadstore._backends.local.layout import Layout
from threadstore._backends.local.scanner import Scanner, list_rollouts
from threadstore._backends.local.writer import LocalWriter

__all__ = ["FillControl"]


class FillControl:
    """The background fill of a catalog (see the module documentation)."""

    layout: Layout
    index: Index
    scanner: Scanner
    default_model_provider: str
    live_writer: Callable[[str], LocalWriter | None]
    index_progress: Callable[[int, int], None] | None
    dirty: dict[str, LocalWriter]
    #: The background fill indexing many rollouts, while there is one.
    fill: Fill | None = None

    def start_fill(self, directories: Sequence[str]) -> None:
        """Have the background fill index ``directories`` (see :mod:`.fill`)."""
        if self.fill is not None and self.fill.add(directories):
            return
        self.take_fill_results()
        fill = Fill(
            self.layout,
            self.index.path,
            default_provider=self.default_model_provider,
            live_writer=self.live_writer,
            lister=list_rollouts,
        )
        self.fill = fill
        fill.start(directories)

    def take_fill_results(self) -> None:
        """Learn the directories the fill recorded; once it ended, drop it (raising what made
        it fail: the next query starts a fill for what is left)."""
        fill = self.fill
        if fill is None:
            return
        finished = fill.finished
        for directory, mtime in fill.completed():
            self.scanner.learn(directory, mtime)
        if finished:
            self.fill = None
            self.scanner.after_fill()
            if fill.error is not None:
                raise fill.error

    def stop_fill(self) -> None:
        fill, self.fill = self.fill, None
        if fill is not None:
            fill.stop()

    async def settle(
        self,
        query: PageQuery | None = None,
        *,
        archived: bool | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Wait until the index answers ``query`` as the complete index would; without a query,
        until the fill indexed every rollout of the ``archived`` collection (both when None).
        While waiting, and once when done waiting, ``progress`` (default: ``index_progress``)
        hears (rollouts indexed, rollouts to index)."""
        fill = self.fill
        if fill is None:
            return

        def ready(fill: Fill) -> tuple[bool, bool]:
            if query is not None:
                complete = fill.collection_done(query.archived)
                return complete or fill.answers(query, self.index.page(query)), complete
            complete = fill.collection_done(archived) if archived is not None else False
            return complete, complete

        await fill.wait(ready, progress or self.index_progress)
        if fill.finished:
            self.take_fill_results()

    def exists(self, thread_id: str) -> bool:
        """Whether the home has a rollout of ``thread_id`` (or this store is writing one)."""
        if thread_id in self.dirty or self.index.get(thread_id) is not None:
            return True
        return self.fill is not None and self.fill.has(thread_id)
