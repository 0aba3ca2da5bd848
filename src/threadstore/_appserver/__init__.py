"""The app server: Codex app-server v2 style JSON-RPC over the runtime.

``threadstore app-server`` serves one client over stdio (newline-delimited JSON, one message a
line, no ``"jsonrpc"`` member; logs on stderr), or many clients over WebSocket (``--listen
ws://HOST:PORT``, one message per text frame, optionally behind a bearer token). The pieces,
each with one job:

* :mod:`.framing` - decoding and encoding one message;
* :mod:`.transport` and :mod:`.websocket` - where messages come from and go to (stdio,
  in-process queues, WebSocket connections);
* :mod:`.connection` - one client: its read loop, handshake state and subscriptions;
* :mod:`.hub` - what connections share: loaded threads, subscriptions, notification routing,
  idle unloading;
* :mod:`.dispatcher` - initialize gating, routing, per-thread serialisation, error answers;
* :mod:`.handlers` with :mod:`.thread_methods`, :mod:`.read_methods` and
  :mod:`.turn_methods` - the methods (``thread/*``, ``turn/*``);
* :mod:`.listener` - one task per loaded thread turning runtime events into notifications;
* :mod:`.convert` and :mod:`.views` - stored threads and rollout items as v2 objects;
* :mod:`.server` - one stdio connection served to its end, then the orderly shutdown;
* :mod:`.listen` - ``--listen`` and the bearer token;
* :mod:`.limits` - what one client may hold of the server's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable

from threadstore._appserver.convert import build_turns, thread_json
from threadstore._appserver.errors import RpcError
from threadstore._appserver.limits import DEFAULT_LIMITS, ConnectionLimits
from threadstore._appserver.listen import Listen, check_listen, load_token, parse_listen
from threadstore._appserver.server import AppServer
from threadstore._appserver.transport import QueueTransport, StdioTransport, Transport
from threadstore._runtime.manager import ThreadManager

__all__ = [
    "DEFAULT_LIMITS",
    "AppServer",
    "ConnectionLimits",
    "Listen",
    "QueueTransport",
    "RpcError",
    "StdioTransport",
    "Transport",
    "build_turns",
    "check_listen",
    "load_token",
    "parse_listen",
    "serve",
    "serve_stdio",
    "thread_json",
]


async def serve_stdio(manager: ThreadManager, limits: ConnectionLimits = DEFAULT_LIMITS) -> None:
    """Serve one client on this process's stdin/stdout until stdin ends."""
    transport = StdioTransport(sys.stdin.buffer, sys.stdout.buffer, limits)
    await AppServer(manager, transport, limits=limits).serve()


async def serve(
    manager: ThreadManager,
    listen: Listen,
    *,
    token: str | None = None,
    announce: Callable[[str], None] | None = None,
    limits: ConnectionLimits = DEFAULT_LIMITS,
) -> None:
    """Serve on ``listen``: stdio until stdin ends, or WebSocket clients until SIGINT or
    SIGTERM (then every loaded thread is shut down and everything said is stored).
    ``announce`` is called with the WebSocket URL once the server listens (the real port when
    port 0 was asked for); ``limits`` bound what each client holds (:mod:`.limits`). Raises
    ``ValueError`` for an unsafe or meaningless combination."""
    check_listen(listen, token)
    if listen.kind == "stdio":
        await serve_stdio(manager, limits)
        return
    from threadstore._appserver.websocket import WebSocketAppServer

    server = WebSocketAppServer(manager, listen.host, listen.port, token=token, limits=limits)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
        if announce is not None:
            announce(server.url)
        await stop.wait()
    finally:
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await server.close()
