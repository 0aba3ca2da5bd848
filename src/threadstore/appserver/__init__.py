"""The app server: Codex app-server v2 style JSON-RPC over the runtime.

``threadstore app-server`` serves one client over stdio (newline-delimited JSON, one message a
line, no ``"jsonrpc"`` member; logs on stderr). The pieces, each with one job:

* :mod:`.framing` - decoding and encoding one line;
* :mod:`.transport` - where lines come from and go to (stdio, in-process queues);
* :mod:`.dispatcher` - initialize gating, routing, per-thread serialisation, error answers;
* :mod:`.handlers` - the methods (``thread/*``, ``turn/*``);
* :mod:`.listener` - one task per loaded thread turning runtime events into notifications;
* :mod:`.convert` and :mod:`.views` - stored threads and rollout items as v2 objects;
* :mod:`.server` - the read loop and the orderly shutdown at end of input.
"""

from __future__ import annotations

import sys

from ..runtime.manager import ThreadManager
from .convert import build_turns, thread_json
from .errors import RpcError
from .server import AppServer
from .transport import QueueTransport, StdioTransport, Transport

__all__ = [
    "AppServer",
    "QueueTransport",
    "RpcError",
    "StdioTransport",
    "Transport",
    "build_turns",
    "serve_stdio",
    "thread_json",
]


async def serve_stdio(manager: ThreadManager) -> None:
    """Serve one client on this process's stdin/stdout until stdin ends."""
    transport = StdioTransport(sys.stdin.buffer, sys.stdout.buffer)
    await AppServer(manager, transport).serve()
