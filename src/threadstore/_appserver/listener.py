"""One listener task per loaded thread: runtime events in, v2 notifications out.

The listener is the thread's only event consumer. Per event, as Codex's app server does:

* ``task_started`` answers the waiting ``turn/start`` (with the real turn id), then
  ``turn/started``;
* ``user_message`` becomes ``item/started`` + ``item/completed`` of a ``userMessage``;
* ``agent_message_delta`` opens an ``agentMessage`` item (``item/started``) and streams
  ``item/agentMessage/delta``; ``agent_message`` completes it (``item/completed``, the
  authoritative text);
* ``token_count`` with usage becomes ``thread/tokenUsage/updated``;
* ``task_complete`` / ``turn_aborted`` answer waiting ``turn/interrupt`` requests with ``{}``,
  then ``turn/completed`` (``completed``, ``failed`` after an error, or ``interrupted``);
* ``thread_rolled_back`` answers the waiting ``thread/rollback`` with the re-read thread (with
  turns), or the waiting ``thread/revert`` with the thread and broadcasts ``thread/reverted``;
* ``error`` answers the request it belongs to when one waits for it, else becomes an ``error``
  notification and marks the turn failed (for the kinds Codex counts as failures).

Notifications go to the connections subscribed to the thread (:meth:`Hub.notify_thread`).
Events are handled strictly in order, so notifications of one thread keep the order of its
events. When the thread's events end, every request still waiting on it gets an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from threadstore._appserver.convert import (
    agent_message_item,
    error_fails_turn,
    error_json,
    token_usage_json,
    turn_json,
    user_message_content,
)
from threadstore._appserver.errors import RpcError
from threadstore._appserver.hub import Hub
from threadstore._appserver.state import LiveTurn, LoadedThread
from threadstore._appserver.views import ThreadViews
from threadstore._ids import new_thread_id
from threadstore._runtime.errors import ThreadClosed
from threadstore._runtime.events import Event

__all__ = ["ThreadListener"]

logger: Final = logging.getLogger("threadstore.appserver")


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class ThreadListener:
    """Translates the events of loaded threads into notifications (see the module docs)."""

    def __init__(self, hub: Hub, views: ThreadViews) -> None:
        self._hub = hub
        self._registry = hub.registry
        self._views = views

    def _notify(self, loaded: LoadedThread, method: str, params: Any) -> None:
        self._hub.notify_thread(loaded.thread_id, method, params)

    async def run(self, loaded: LoadedThread) -> None:
        """Consume ``loaded``'s events until the thread ends; then unregister it and fail what
        still waits on it."""
        try:
            while True:
                try:
                    event = await loaded.thread.next_event()
                except ThreadClosed:
                    break
                try:
                    await self.handle(loaded, event)
                except Exception:  # one bad event never stops the thread's notifications
                    logger.exception("failed to translate %s event of thread %s", event.type, loaded.thread_id)
        finally:
            self._registry.discard(loaded)
            turn = loaded.active_turn
            for responder in loaded.take_pending():
                responder.fail(RpcError.invalid_request(f"thread {loaded.thread_id} was shut down"))
            if turn is not None:
                loaded.active_turn = None
                self._turn_completed(loaded, turn, "interrupted", {})

    async def handle(self, loaded: LoadedThread, event: Event) -> None:
        msg = event.msg
        kind = event.type
        thread_id = loaded.thread_id
        turn = loaded.active_turn
        if kind in ("task_started", "turn_started"):
            turn_id = msg.get("turn_id")
            turn = LiveTurn(turn_id if isinstance(turn_id, str) else new_thread_id(), _opt_int(msg.get("started_at")))
            loaded.active_turn = turn
            shown = turn_json(turn.turn_id, status="inProgress", started_at=turn.started_at)
            responder = loaded.pending_starts.pop(event.id, None)
            if responder is not None:
                responder.respond({"turn": shown})
            self._notify(loaded, "turn/started", {"threadId": thread_id, "turn": shown})
        elif kind == "user_message" and turn is not None:
            item = {"type": "userMessage", "id": new_thread_id(), "content": user_message_content(msg)}
            self._item("item/started", loaded, turn, item)
            self._item("item/completed", loaded, turn, item)
        elif kind == "agent_message_delta" and turn is not None:
            delta = msg.get("delta")
            if isinstance(delta, str):
                item_id = self._open_agent_item(loaded, turn)
                turn.agent_text.append(delta)
                self._notify(
                    loaded,
                    "item/agentMessage/delta",
                    {"threadId": thread_id, "turnId": turn.turn_id, "itemId": item_id, "delta": delta},
                )
        elif kind == "agent_message" and turn is not None:
            item_id = self._open_agent_item(loaded, turn)
            text = msg.get("message")
            text = text if isinstance(text, str) else "".join(turn.agent_text)
            self._item("item/completed", loaded, turn, agent_message_item(item_id, text, msg))
            turn.agent_item_id = None
            turn.agent_text.clear()
        elif kind == "token_count":
            info = msg.get("info")
            if isinstance(info, Mapping):
                self._notify(
                    loaded,
                    "thread/tokenUsage/updated",
                    {
                        "threadId": thread_id,
                        "turnId": turn.turn_id if turn is not None else None,
                        "tokenUsage": token_usage_json(info),
                    },
                )
        elif kind in ("task_complete", "turn_complete", "turn_aborted"):
            self._end_turn(loaded, "interrupted" if kind == "turn_aborted" else "completed", msg)
        elif kind == "thread_rolled_back":
            await self._rolled_back(loaded, event)
        elif kind == "thread_name_updated":
            name = msg.get("thread_name")
            self._notify(loaded, "thread/name/updated", {"threadId": thread_id, "threadName": name})
        elif kind == "error":
            self._error(loaded, event)

    # -- helpers ---------------------------------------------------------------------------------

    def _item(self, method: str, loaded: LoadedThread, turn: LiveTurn, item: dict[str, Any]) -> None:
        self._notify(loaded, method, {"threadId": loaded.thread_id, "turnId": turn.turn_id, "item": item})

    def _open_agent_item(self, loaded: LoadedThread, turn: LiveTurn) -> str:
        if turn.agent_item_id is None:
            turn.agent_item_id = new_thread_id()
            turn.agent_text.clear()
            self._item("item/started", loaded, turn, agent_message_item(turn.agent_item_id, ""))
        return turn.agent_item_id

    def _turn_completed(self, loaded: LoadedThread, turn: LiveTurn, status: str, msg: Mapping[str, Any]) -> None:
        if status == "completed" and turn.error is not None:
            status = "failed"
        shown = turn_json(
            turn.turn_id,
            status=status,
            error=turn.error,
            started_at=turn.started_at,
            completed_at=_opt_int(msg.get("completed_at")),
            duration_ms=_opt_int(msg.get("duration_ms")),
        )
        self._notify(loaded, "turn/completed", {"threadId": loaded.thread_id, "turn": shown})

    def _end_turn(self, loaded: LoadedThread, status: str, msg: Mapping[str, Any]) -> None:
        turn = loaded.active_turn
        loaded.active_turn = None
        # An interrupt that raced with the turn's normal end is answered all the same.
        interrupts, loaded.pending_interrupts = loaded.pending_interrupts, []
        for responder in interrupts:
            responder.respond({})
        if turn is not None:
            self._turn_completed(loaded, turn, status, msg)

    async def _rolled_back(self, loaded: LoadedThread, event: Event) -> None:
        pending = loaded.pending_rollback
        if pending is None or pending.submission_id != event.id:
            return
        loaded.pending_rollback = None
        revert = pending.kind == "revert"
        try:
            thread = await self._views.read(loaded.thread_id, include_turns=not revert)
        except Exception as exc:
            logger.warning("could not re-read thread %s after %s: %s", loaded.thread_id, pending.kind, exc)
            pending.responder.fail(RpcError.invalid_request(f"thread rolled back, but re-reading it failed: {exc}"))
            return
        if not revert:
            pending.responder.respond({"thread": thread})
            return
        pending.responder.respond({"thread": thread, "turnsBackwardsCursor": None, "itemsBackwardsCursor": None})
        self._hub.broadcast("thread/reverted", {"threadId": loaded.thread_id})

    def _error(self, loaded: LoadedThread, event: Event) -> None:
        msg = event.msg
        message = msg.get("message")
        text = message if isinstance(message, str) else "error"
        responder = loaded.pending_starts.pop(event.id, None)
        if responder is not None:
            responder.fail(RpcError.invalid_request(text))
            return
        pending = loaded.pending_rollback
        if pending is not None and pending.submission_id == event.id:
            loaded.pending_rollback = None
            pending.responder.fail(RpcError.invalid_request(text))
            return
        turn = loaded.active_turn
        error = error_json(msg)
        if turn is not None and error_fails_turn(msg):
            turn.error = error
        self._notify(
            loaded,
            "error",
            {
                "threadId": loaded.thread_id,
                "turnId": turn.turn_id if turn is not None else None,
                "error": error,
                "willRetry": False,
            },
        )
