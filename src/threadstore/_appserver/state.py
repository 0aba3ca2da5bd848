"""What the app server keeps: outboxes, responders and the loaded threads.

An :class:`Outbox` sends one connection's responses and notifications; a :class:`Responder` is
the address of one request's answer (its connection's outbox and its id), kept by requests whose
answer waits for an event. A :class:`LoadedThread` is the server's side of one thread loaded in
the :class:`~threadstore._runtime.ThreadManager` (shared by every connection): its listener task,
the turn it is running (as far as the events said so far), and the requests whose answers wait
for an event (``turn/start`` waits for ``task_started``, ``turn/interrupt`` for the turn's end,
``thread/rollback`` and ``thread/revert`` for ``thread_rolled_back``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from threadstore._appserver.convert import ThreadStatus
from threadstore._appserver.errors import RpcError
from threadstore._appserver.framing import RequestId, error_response, notification, response
from threadstore._appserver.transport import Transport
from threadstore._runtime.thread import Thread

__all__ = ["LiveTurn", "LoadedThread", "Outbox", "PendingRollback", "Registry", "Responder"]


class Outbox:
    """Sends responses and notifications through the transport, in call order."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def respond(self, request_id: RequestId, result: Any) -> None:
        self._transport.send(response(request_id, result))

    def fail(self, request_id: RequestId | None, error: RpcError) -> None:
        self._transport.send(error_response(request_id, error))

    def notify(self, method: str, params: Any) -> None:
        self._transport.send(notification(method, params))


@dataclass(frozen=True)
class Responder:
    """Where the answer to one request goes."""

    outbox: Outbox
    request_id: RequestId

    def respond(self, result: Any) -> None:
        self.outbox.respond(self.request_id, result)

    def fail(self, error: RpcError) -> None:
        self.outbox.fail(self.request_id, error)


@dataclass
class LiveTurn:
    """The turn a loaded thread is running, built from its events."""

    turn_id: str
    started_at: int | None
    agent_item_id: str | None = None
    agent_text: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class PendingRollback:
    """A ``thread/rollback`` or ``thread/revert`` waiting for its ``thread_rolled_back``."""

    submission_id: str
    responder: Responder
    kind: Literal["rollback", "revert"] = "rollback"


@dataclass
class LoadedThread:
    thread: Thread
    listener: asyncio.Task[None] | None = None
    active_turn: LiveTurn | None = None
    #: turn/start requests waiting for their ``task_started``, by submission id.
    pending_starts: dict[str, Responder] = field(default_factory=dict)
    #: turn/interrupt requests waiting for the turn to end.
    pending_interrupts: list[Responder] = field(default_factory=list)
    pending_rollback: PendingRollback | None = None

    @property
    def thread_id(self) -> str:
        return self.thread.thread_id

    @property
    def turn_busy(self) -> bool:
        """A turn runs, or one was asked for and has not started yet."""
        return self.active_turn is not None or bool(self.pending_starts)

    @property
    def status(self) -> ThreadStatus:
        return "active" if self.turn_busy else "idle"

    def take_pending(self) -> list[Responder]:
        """Every request still waiting on this thread (cleared)."""
        waiting = [*self.pending_starts.values(), *self.pending_interrupts]
        if self.pending_rollback is not None:
            waiting.append(self.pending_rollback.responder)
        self.pending_starts.clear()
        self.pending_interrupts.clear()
        self.pending_rollback = None
        return waiting


class Registry:
    """The loaded threads of this server, by id."""

    def __init__(self) -> None:
        self._threads: dict[str, LoadedThread] = {}

    def get(self, thread_id: str) -> LoadedThread | None:
        return self._threads.get(thread_id)

    def require(self, thread_id: str) -> LoadedThread:
        loaded = self._threads.get(thread_id)
        if loaded is None:
            raise RpcError.invalid_request(f"thread not loaded: {thread_id} (start, resume or fork it first)")
        return loaded

    def add(self, loaded: LoadedThread) -> None:
        self._threads[loaded.thread_id] = loaded

    def discard(self, loaded: LoadedThread) -> None:
        if self._threads.get(loaded.thread_id) is loaded:
            del self._threads[loaded.thread_id]

    def ids(self) -> list[str]:
        return sorted(self._threads)

    def all(self) -> list[LoadedThread]:
        return list(self._threads.values())

    def status_of(self, thread_id: str) -> ThreadStatus:
        loaded = self._threads.get(thread_id)
        return loaded.status if loaded is not None else "notLoaded"
