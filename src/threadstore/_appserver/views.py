"""Reading threads as v2 ``Thread`` objects, for cold and loaded threads alike.

A loaded thread is read from the store after its buffered items were flushed; one that has not
stored anything yet (a fresh ``thread/start``, or an ephemeral thread) is described from its
running configuration.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from threadstore._appserver.convert import build_turns, thread_json
from threadstore._appserver.state import LoadedThread, Registry
from threadstore._contract.types import ReadThreadParams, StoredThread
from threadstore._runtime.manager import ThreadManager
from threadstore.errors import ThreadNotFound, ThreadStoreError

__all__ = ["ThreadViews"]

logger: Final = logging.getLogger("threadstore.appserver")


class ThreadViews:
    def __init__(self, manager: ThreadManager, registry: Registry) -> None:
        self._manager = manager
        self._registry = registry

    async def flush_loaded(self, thread_id: str) -> LoadedThread | None:
        """Make what a loaded (not ephemeral) thread buffered durable, so a read of the store
        shows it; the loaded thread, if any. A failed flush is logged: the read shows what is
        durable."""
        loaded = self._registry.get(thread_id)
        if loaded is not None and not loaded.thread.ephemeral:
            live = loaded.thread.live_thread
            if live is not None and not live.closed:
                try:
                    await live.flush()
                except ThreadStoreError as exc:
                    logger.warning("could not flush thread %s before reading it: %s", thread_id, exc)
        return loaded

    def active_turn_id(self, thread_id: str) -> str | None:
        """The id of the turn a loaded thread is running now, if any."""
        loaded = self._registry.get(thread_id)
        return loaded.active_turn.turn_id if loaded is not None and loaded.active_turn is not None else None

    async def stored(self, thread_id: str, *, include_history: bool) -> StoredThread:
        """The thread as stored (archived ones too), or as running when nothing is stored."""
        loaded = await self.flush_loaded(thread_id)
        if loaded is not None and loaded.thread.ephemeral:
            return loaded.thread.describe()
        try:
            return await self._manager.store.read_thread(
                ReadThreadParams(thread_id, include_archived=True, include_history=include_history)
            )
        except ThreadNotFound:
            if loaded is None:
                raise
            return loaded.thread.describe()

    def to_json(self, stored: StoredThread, *, include_turns: bool) -> dict[str, Any]:
        """The v2 ``Thread`` of ``stored`` with this server's view of its status."""
        loaded = self._registry.get(stored.thread_id)
        turns: list[dict[str, Any]] = []
        if include_turns and stored.history is not None:
            turns = build_turns(stored.history.items, active_turn_id=self.active_turn_id(stored.thread_id))
        return thread_json(
            stored,
            status=self._registry.status_of(stored.thread_id),
            ephemeral=loaded is not None and loaded.thread.ephemeral,
            turns=turns,
        )

    async def read(self, thread_id: str, *, include_turns: bool) -> dict[str, Any]:
        stored = await self.stored(thread_id, include_history=include_turns)
        return self.to_json(stored, include_turns=include_turns)
