"""A session's journal: the events it delivers, the items it persists, the history it keeps.

Ordering and durability contract:

* events are delivered in the order they are emitted, to one consumer, and the stream ends
  (:class:`ThreadClosed`) after :meth:`Journal.end`;
* :meth:`Journal.send` persists an event message through the thread's :class:`LiveThread`
  *before* delivering it (the persistence policy decides whether it is stored), so a caller that
  saw an event and then flushed will find it stored;
* :meth:`Journal.record` persists a non-event item; a ``response_item`` also joins the
  model-visible history the next model request sends;
* persistence failures never stop the session: they are logged and delivered as ``error``
  events. An ephemeral thread (no live thread) persists nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from threadstore._rollout.items import Item
from threadstore._runtime.errors import ThreadClosed
from threadstore._runtime.events import Event
from threadstore._runtime.live_thread import LiveThread
from threadstore._runtime.protocol import error_msg, event_item
from threadstore.errors import ThreadStoreError

__all__ = ["Journal"]

logger: Final = logging.getLogger("threadstore.runtime")


class Journal:
    def __init__(self, thread_id: str, live: LiveThread | None, history: list[dict[str, Any]]) -> None:
        self.thread_id = thread_id
        self.live = live
        #: The model-visible history (response-item payloads) the next model request sends.
        self.history = history
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._ended = False

    # -- delivery --------------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Deliver ``event`` without persisting it."""
        self._events.put_nowait(event)

    def end(self) -> None:
        """End the event stream after what was emitted so far."""
        self._events.put_nowait(None)

    async def next_event(self) -> Event:
        """The next event; raises :class:`ThreadClosed` after the last one was delivered."""
        if self._ended:
            raise ThreadClosed(self.thread_id)
        event = await self._events.get()
        if event is None:
            self._ended = True
            raise ThreadClosed(self.thread_id)
        return event

    # -- persistence -----------------------------------------------------------------------------

    async def persist(self, sub_id: str, items: list[Item]) -> None:
        if self.live is None:
            return
        try:
            await self.live.append_items(items)
        except ThreadStoreError as exc:
            logger.warning("failed to record rollout items for thread %s: %s", self.thread_id, exc)
            self.emit(Event(sub_id, error_msg(f"failed to record rollout items: {exc}")))

    async def send(self, sub_id: str, msg: dict[str, Any], *, stored: Item | None = None) -> None:
        """Persist an event message (the policy decides whether it is stored), then deliver it.
        ``stored`` is what the thread records for it instead, when its era records the event in
        another form (a paginated thread records messages as ``item_completed``)."""
        await self.persist(sub_id, [stored if stored is not None else event_item(msg)])
        self.emit(Event(sub_id, msg))

    async def record(self, sub_id: str, item: Item) -> None:
        """Persist a non-event item; response items also join the model history."""
        if item.get("type") == "response_item":
            self.history.append(dict(item["payload"]))
        await self.persist(sub_id, [item])

    async def flush(self, sub_id: str) -> None:
        if self.live is None:
            return
        try:
            await self.live.flush()
        except ThreadStoreError as exc:
            logger.warning("failed to flush thread %s: %s", self.thread_id, exc)
            self.emit(Event(sub_id, error_msg(f"failed to flush thread persistence: {exc}")))
