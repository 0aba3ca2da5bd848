"""Reading forks by reference on PostgreSQL: the chain of parents is fetched, then resolved
(:mod:`threadstore._rollout.forks`)."""

from __future__ import annotations

from threadstore._backends.postgres.db import Database
from threadstore._backends.postgres.rowio import history_rows, parse_items
from threadstore._rollout import forks
from threadstore._rollout.items import Item

__all__ = ["ForkReads"]


class ForkReads:
    """The fork-resolving reads of the PostgreSQL store (a mixin: it needs ``db``)."""

    db: Database

    async def _lines(self, thread_id: str) -> tuple[list[Item], list[str | None]] | None:
        rows = await self.db.run(lambda conn: history_rows(conn, thread_id))
        return parse_items(rows) if rows else None

    async def inherited_lines(self, first: Item) -> list[tuple[Item, str | None]]:
        """The parent lines a thread whose first line is ``first`` stands on (none unless it is
        a fork by reference whose parent is here)."""
        own = first.get("timestamp")
        items, stamps = await self._resolved([first], [own if isinstance(own, str) else None])
        return list(zip(items[1:], stamps[1:], strict=True))

    async def _resolved(self, items: list[Item], stamps: list[str | None]) -> tuple[list[Item], list[str | None]]:
        """The history a fork by reference stands for (:mod:`..forks`): the chain of parents is
        fetched first, then resolved."""
        known: dict[str, tuple[list[Item], list[str | None]]] = {}
        reference = forks.fork_reference(items)
        while reference is not None and reference[0] not in known and len(known) < forks.MAX_FORK_DEPTH:
            lines = await self._lines(reference[0])
            if lines is None:
                break
            known[reference[0]] = lines
            reference = forks.fork_reference(lines[0])
        return forks.resolve(items, stamps, known.get)

