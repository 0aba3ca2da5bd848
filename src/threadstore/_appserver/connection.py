"""One client connection: its transport, outbox, handshake state and subscriptions.

Lines are read one at a time; each request is handled in its own task (see
:mod:`.dispatcher` for ordering), within the connection's :class:`~.limits.ConnectionLimits`:
the next line is read only once the requests in flight and the output queued are within them,
and a client that leaves its output unread past them is disconnected. Client notifications (``initialized``) and responses are
accepted and ignored; a line that is not a message is answered with an error (id null when no
id could be read). :meth:`Connection.read_until_closed` returns at end of input;
:meth:`Connection.finish_requests` then lets in-flight requests finish (bounded). The same class
serves stdio and WebSocket connections: only the :class:`~.transport.Transport` differs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from threadstore._appserver.dispatcher import Dispatcher
from threadstore._appserver.framing import DecodeError, Notification, Request, decode
from threadstore._appserver.limits import DEFAULT_LIMITS, ConnectionLimits
from threadstore._appserver.state import Outbox
from threadstore._appserver.transport import Transport

__all__ = ["Connection"]

logger: Final = logging.getLogger("threadstore.appserver")


class Connection:
    def __init__(self, transport: Transport, dispatcher: Dispatcher, limits: ConnectionLimits = DEFAULT_LIMITS) -> None:
        self.transport = transport
        self.limits = limits
        self.outbox = Outbox(transport)
        self.initialized = False
        #: The threads whose notifications this connection receives.
        self.subscriptions: set[str] = set()
        self._dispatcher = dispatcher
        self._inflight: set[asyncio.Task[None]] = set()
        #: Bytes of the requests in flight.
        self._inflight_bytes = 0
        self._room = asyncio.Event()
        self._room.set()

    async def read_until_closed(self) -> None:
        """Read and dispatch messages until the input ends (or the client is disconnected for
        not reading its output)."""
        while await self._admit():
            line = await self.transport.read_line()
            if line is None:
                return
            if line.strip():
                self._receive(line)

    def _full(self) -> bool:
        return len(self._inflight) >= self.limits.max_in_flight or self._inflight_bytes >= self.limits.max_queued_bytes

    async def _admit(self) -> bool:
        """Wait until one more line may be read (see :mod:`.limits`); False once the client was
        disconnected for leaving its output unread."""
        while self._full():
            self._room.clear()
            await self._room.wait()
        return await self.transport.wait_writable()

    def _done(self, task: asyncio.Task[None], size: int) -> None:
        self._inflight.discard(task)
        self._inflight_bytes -= size
        if not self._full():
            self._room.set()

    def _receive(self, line: bytes) -> None:
        try:
            message = decode(line)
        except DecodeError as exc:
            logger.warning("bad message from the client: %s", exc.message)
            self.outbox.fail(exc.id, exc)
            return
        if isinstance(message, Request):
            task = asyncio.create_task(
                self._dispatcher.handle(self, message), name=f"threadstore-appserver-{message.method}"
            )
            size = len(line)
            self._inflight.add(task)
            self._inflight_bytes += size
            task.add_done_callback(lambda done: self._done(done, size))
        elif isinstance(message, Notification):
            logger.debug("client notification %s", message.method)

    async def finish_requests(self, grace: float) -> None:
        """Let in-flight requests finish within ``grace`` seconds, then cancel the rest."""
        if not self._inflight:
            return
        _, pending = await asyncio.wait(set(self._inflight), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
