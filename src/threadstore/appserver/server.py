"""``AppServer``: one connection's read loop, and the orderly end at end of input.

Lines are read one at a time; each request is handled in its own task (see
:mod:`~threadstore.appserver.dispatcher` for ordering). Client notifications (``initialized``)
and responses are accepted and ignored; a line that is not a message is answered with an error
(id null when no id could be read). At end of input the server stops reading, lets in-flight
requests finish (bounded), shuts every loaded thread down (bounded; everything said is then
stored), writes what is queued and returns.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from ..runtime.manager import ThreadManager
from .dispatcher import Dispatcher
from .framing import DecodeError, Notification, Request, decode
from .handlers import Handlers
from .state import Outbox
from .transport import Transport

__all__ = ["AppServer"]

logger: Final = logging.getLogger("threadstore.appserver")


class AppServer:
    """Serves one client over ``transport`` with the threads of ``manager``.

    ``request_grace`` bounds how long in-flight requests may run after end of input;
    ``shutdown_timeout`` bounds the shutdown of each loaded thread."""

    def __init__(
        self,
        manager: ThreadManager,
        transport: Transport,
        *,
        request_grace: float = 5.0,
        shutdown_timeout: float = 10.0,
    ) -> None:
        self.manager = manager
        self.transport = transport
        self.outbox = Outbox(transport)
        self.handlers = Handlers(manager, self.outbox)
        self.dispatcher = Dispatcher(self.handlers, self.outbox)
        self._request_grace = request_grace
        self._shutdown_timeout = shutdown_timeout
        self._inflight: set[asyncio.Task[None]] = set()

    async def serve(self) -> None:
        """Serve until end of input, then shut down (see the module documentation)."""
        try:
            while True:
                line = await self.transport.read_line()
                if line is None:
                    break
                if line.strip():
                    self._receive(line)
        finally:
            await self.shutdown()

    def _receive(self, line: bytes) -> None:
        try:
            message = decode(line)
        except DecodeError as exc:
            logger.warning("bad message from the client: %s", exc.message)
            self.outbox.fail(exc.id, exc)
            return
        if isinstance(message, Request):
            task = asyncio.create_task(self.dispatcher.handle(message), name=f"threadstore-appserver-{message.method}")
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        elif isinstance(message, Notification):
            logger.debug("client notification %s", message.method)

    async def shutdown(self) -> None:
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=self._request_grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await self.handlers.shutdown(self._shutdown_timeout)
        await self.transport.close()
