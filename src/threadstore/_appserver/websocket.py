"""The app server over WebSocket: many clients at once, optionally behind a bearer token.

Built on the ``websockets`` library (extra ``appserver``). Each text frame is one JSON-RPC
message, as with Codex's ``--listen ws://``; every connection is a
:class:`~.connection.Connection` of one shared :class:`~.hub.Hub`, so the same dispatcher and
handlers serve it as stdio, and each connection receives the notifications of the threads it
subscribed to (see :mod:`.hub`).

The HTTP upgrade request is checked before any message is read:

* ``GET /healthz`` and ``GET /readyz`` answer ``200 ok`` (no token needed);
* with a token configured, a request without ``Authorization: Bearer <token>`` (compared in
  constant time) is refused with ``401``;
* a request carrying an ``Origin`` header (sent by web browsers, never by API clients) is
  refused with ``403``, so a web page cannot drive the threads of a server on this machine.

Each connection keeps the :class:`~.limits.ConnectionLimits` the server was given (a client
that floods is slowed, one that stops reading is disconnected), and no more than
:data:`MAX_QUEUED_FRAMES` incoming frames wait to be read.

A client that goes away loses its subscriptions; its threads stay loaded until they have been
idle without subscribers for a while (see :mod:`.hub`). :meth:`WebSocketAppServer.close` stops
accepting, closes every connection and shuts every loaded thread down (everything said is
stored).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from threadstore._appserver.connection import Connection
from threadstore._appserver.dispatcher import Dispatcher
from threadstore._appserver.handlers import Handlers
from threadstore._appserver.hub import DEFAULT_IDLE_UNLOAD_DELAY, Hub
from threadstore._appserver.limits import DEFAULT_LIMITS, ConnectionLimits
from threadstore._appserver.transport import QueuedWriter, Transport
from threadstore._runtime.manager import ThreadManager

if TYPE_CHECKING:
    from websockets.asyncio.server import Server, ServerConnection
    from websockets.http11 import Request, Response

__all__ = ["MAX_MESSAGE_BYTES", "WebSocketAppServer", "WebSocketTransport"]

logger: Final = logging.getLogger("threadstore.appserver")

MAX_MESSAGE_BYTES: Final = 64 * 1024 * 1024
"""The largest message a client may send (a frame above it closes the connection)."""

MAX_QUEUED_FRAMES: Final = 4
"""Incoming frames buffered per connection while earlier ones are handled (then the socket is not
read: the client is slowed)."""

HEALTH_PATHS: Final = frozenset({"/healthz", "/readyz"})


def _websockets() -> Any:
    try:
        import websockets.asyncio.server
    except ImportError:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "the WebSocket transport needs the websockets package: pip install 'threadstore[appserver]'"
        ) from None
    return websockets


class _FrameWriter(QueuedWriter):
    def __init__(self, connection: ServerConnection, limits: ConnectionLimits, on_overflow: Callable[[], None]) -> None:
        super().__init__(limits, on_overflow)
        self._connection = connection

    async def write(self, data: bytes) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self._connection.send(data.rstrip(b"\n").decode("utf-8"))
        except ConnectionClosed as exc:
            raise OSError(f"the WebSocket connection is closed: {exc}") from None


class WebSocketTransport(Transport):
    """One WebSocket connection: each text (or binary) frame in is one message; each message
    out is one text frame."""

    def __init__(self, connection: ServerConnection, limits: ConnectionLimits = DEFAULT_LIMITS) -> None:
        self._connection = connection
        self._writer = _FrameWriter(connection, limits, self.abort)

    async def read_line(self) -> bytes | None:
        from websockets.exceptions import ConnectionClosed

        try:
            frame = await self._connection.recv()
        except ConnectionClosed:
            return None
        return frame.encode("utf-8") if isinstance(frame, str) else bytes(frame)

    def send(self, message: dict[str, Any]) -> None:
        self._writer.send(message)

    async def drain(self) -> None:
        await self._writer.drain()

    async def close(self) -> None:
        await self._writer.stop()

    async def wait_writable(self) -> bool:
        return await self._writer.wait_writable()

    def abort(self) -> None:
        """Drop the TCP connection at once (no closing handshake: the client is not reading)."""
        self._connection.transport.abort()


class WebSocketAppServer:
    """Serves WebSocket clients on ``host:port`` with the threads of ``manager``."""

    def __init__(
        self,
        manager: ThreadManager,
        host: str,
        port: int,
        *,
        token: str | None = None,
        request_grace: float = 5.0,
        shutdown_timeout: float = 10.0,
        idle_unload_delay: float = DEFAULT_IDLE_UNLOAD_DELAY,
        limits: ConnectionLimits = DEFAULT_LIMITS,
    ) -> None:
        self.limits = limits
        self.hub = Hub(manager, idle_unload_delay=idle_unload_delay)
        self.handlers = Handlers(self.hub)
        self._dispatcher = Dispatcher(self.handlers)
        self._host = host
        self._port = port
        self._token = token
        self._request_grace = request_grace
        self._shutdown_timeout = shutdown_timeout
        self._server: Server | None = None

    async def start(self) -> None:
        """Bind and start accepting connections (raises ``OSError`` when the address is taken)."""
        websockets = _websockets()
        self._server = await websockets.asyncio.server.serve(
            self._serve_connection,
            self._host,
            self._port,
            process_request=self._check_request,
            max_size=MAX_MESSAGE_BYTES,
            max_queue=MAX_QUEUED_FRAMES,
        )

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (the real port when 0 was asked for)."""
        if self._server is None:
            raise RuntimeError("the server has not started")
        sockname = self._server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    @property
    def url(self) -> str:
        host, port = self.address
        return f"ws://[{host}]:{port}" if ":" in host else f"ws://{host}:{port}"

    async def close(self) -> None:
        """Stop accepting, close the connections, shut every loaded thread down."""
        server = self._server
        if server is not None:
            server.close()
            await server.wait_closed()
        await self.hub.shutdown(self._shutdown_timeout)

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path in HEALTH_PATHS:
            return connection.respond(HTTPStatus.OK, "ok\n")
        if "Origin" in request.headers:
            return connection.respond(HTTPStatus.FORBIDDEN, "requests from web pages are not accepted\n")
        if self._token is not None:
            given = request.headers.get("Authorization", "")
            expected = f"Bearer {self._token}"
            if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
                response = connection.respond(HTTPStatus.UNAUTHORIZED, "a valid bearer token is required\n")
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
        return None

    async def _serve_connection(self, websocket: ServerConnection) -> None:
        transport = WebSocketTransport(websocket, self.limits)
        connection = Connection(transport, self._dispatcher, self.limits)
        self.hub.join(connection)
        try:
            await connection.read_until_closed()
        finally:
            await connection.finish_requests(self._request_grace)
            self.hub.leave(connection)
            await transport.close()
