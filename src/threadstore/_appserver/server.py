"""``AppServer``: one server over one connection (stdio, or in-process queues).

It serves until end of input, then stops reading, lets in-flight requests finish (bounded),
shuts every loaded thread down (bounded; everything said is then stored), writes what is
queued and returns. :mod:`.websocket` serves many connections with the same pieces.
"""

from __future__ import annotations

from threadstore._appserver.connection import Connection
from threadstore._appserver.dispatcher import Dispatcher
from threadstore._appserver.handlers import Handlers
from threadstore._appserver.hub import DEFAULT_IDLE_UNLOAD_DELAY, Hub
from threadstore._appserver.limits import DEFAULT_LIMITS, ConnectionLimits
from threadstore._appserver.transport import Transport
from threadstore._runtime.manager import ThreadManager

__all__ = ["AppServer"]


class AppServer:
    """Serves one client over ``transport`` with the threads of ``manager``.

    ``request_grace`` bounds how long in-flight requests may run after end of input;
    ``shutdown_timeout`` bounds the shutdown of each loaded thread; ``idle_unload_delay`` is how
    long a thread nobody is subscribed to stays loaded (see :mod:`.hub`); ``limits`` bound what
    the connection holds (see :mod:`.limits`: the transport's own queue is built with them)."""

    def __init__(
        self,
        manager: ThreadManager,
        transport: Transport,
        *,
        request_grace: float = 5.0,
        shutdown_timeout: float = 10.0,
        idle_unload_delay: float = DEFAULT_IDLE_UNLOAD_DELAY,
        limits: ConnectionLimits = DEFAULT_LIMITS,
    ) -> None:
        self.manager = manager
        self.transport = transport
        self.hub = Hub(manager, idle_unload_delay=idle_unload_delay)
        self.handlers = Handlers(self.hub)
        self.connection = Connection(transport, Dispatcher(self.handlers), limits)
        self._request_grace = request_grace
        self._shutdown_timeout = shutdown_timeout

    async def serve(self) -> None:
        """Serve until end of input, then shut down (see the module documentation)."""
        self.hub.join(self.connection)
        try:
            await self.connection.read_until_closed()
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        await self.connection.finish_requests(self._request_grace)
        await self.hub.shutdown(self._shutdown_timeout)
        self.hub.leave(self.connection)
        await self.transport.close()
