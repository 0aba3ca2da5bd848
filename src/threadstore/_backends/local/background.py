"""The background fill of one home, as the catalog holds it: starting it, learning what it
recorded, and waiting for it (every wait is awaitable: the fill's thread wakes the waiters).

The fill (:mod:`.fill`) indexes many rollouts on a thread of its own while queries go on. What it
recorded is handed over as values (:meth:`Background.results`), which the catalog passes to the
scanner; nothing here reads or writes the scanner's or the catalog's state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from threadstore._backends.local.fill import Fill
from threadstore._backends.local.index import PageQuery, PageRow
from threadstore._backends.local.layout import Layout
from threadstore._backends.local.scanner import list_rollouts

__all__ = ["Background"]


class Background:
    """The fill of one home, while there is one (see the module documentation)."""

    def __init__(
        self, layout: Layout, index_path: Path, *, default_provider: str, live_writer: Callable[[str], object | None]
    ) -> None:
        self.layout = layout
        self.index_path = index_path
        self.default_provider = default_provider
        self.live_writer = live_writer
        #: The fill indexing many rollouts, while there is one.
        self.fill: Fill | None = None

    @property
    def running(self) -> bool:
        return self.fill is not None

    def owns(self, directory: str) -> bool:
        return self.fill is not None and self.fill.owns(directory)

    def add(self, directories: Sequence[str]) -> bool:
        """Hand ``directories`` to the running fill; False when none runs (or it ended)."""
        return self.fill is not None and self.fill.add(directories)

    def start(self, directories: Sequence[str]) -> None:
        """Start a fill of ``directories`` (after :meth:`results` said the last one ended)."""
        fill = Fill(
            self.layout,
            self.index_path,
            default_provider=self.default_provider,
            live_writer=self.live_writer,
            lister=list_rollouts,
        )
        self.fill = fill
        fill.start(directories)

    def results(self) -> tuple[list[tuple[str, int]], bool]:
        """The directories the fill recorded since the last call (with the modification time
        recorded), and whether the fill ended (it is then dropped; what made it fail is raised,
        and the next scan hands what is left to a new fill)."""
        fill = self.fill
        if fill is None:
            return [], False
        finished = fill.finished
        recorded = fill.completed()
        if finished:
            self.fill = None
            if fill.error is not None:
                raise fill.error
        return recorded, finished

    def stop(self) -> None:
        fill, self.fill = self.fill, None
        if fill is not None:
            fill.stop()

    async def settle(
        self,
        page: Callable[[PageQuery], list[PageRow]],
        query: PageQuery | None = None,
        *,
        archived: bool | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> bool:
        """Wait until the index answers ``query`` (run through ``page``) as the complete index
        would; without a query, until the fill indexed every rollout of the ``archived``
        collection (both when None). ``progress`` hears (rollouts indexed, rollouts to index)
        while this waits, and once when done waiting. True when the fill ended meanwhile."""
        fill = self.fill
        if fill is None:
            return False

        def ready(fill: Fill) -> tuple[bool, bool]:
            if query is not None:
                complete = fill.collection_done(query.archived)
                return complete or fill.answers(query, page(query)), complete
            complete = fill.collection_done(archived) if archived is not None else False
            return complete, complete

        await fill.wait(ready, progress)
        return fill.finished

    async def has(self, thread_id: str) -> bool:
        """Whether a rollout of ``thread_id`` waits for the fill (once it listed everything)."""
        return self.fill is not None and await self.fill.has(thread_id)

    async def claim(self, thread_id: str) -> str | None:
        """The rollout of ``thread_id`` the fill has not indexed yet, now the caller's to index."""
        return None if self.fill is None else await self.fill.claim(thread_id)

    def take(self, thread_id: str) -> None:
        """The caller indexes or forgets ``thread_id`` itself: the fill leaves it alone."""
        if self.fill is not None:
            self.fill.take(thread_id)
