"""Serving the page with uvicorn on ``HOST:PORT`` (port 0: any free port).

The socket is bound before the server starts, so the address reported to ``ready`` (a URL with
the real port, and the token as ``?token=`` when one is required) accepts connections at once.
A page on a non-loopback address always requires a token (:mod:`.security`).
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn

from threadstore._contract.base import ThreadStore
from threadstore._ui.app import create_app
from threadstore._ui.security import is_loopback

__all__ = ["parse_listen", "serve_ui"]


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as (host, port); ValueError when malformed."""
    host, sep, port = listen.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{listen!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


async def serve_ui(
    open_store: Callable[[], ThreadStore],
    listen: str,
    *,
    token: str | None,
    ready: Callable[[str], None],
) -> None:
    """Serve the page until SIGINT/SIGTERM. ``ready`` hears the page's URL once it accepts
    connections. Raises ValueError for a non-loopback ``listen`` without ``token``, OSError when
    the address cannot be bound."""
    host, port = parse_listen(listen)
    loopback = is_loopback(host)
    if not loopback and not token:
        raise ValueError(f"{host} is not a loopback address: the page needs a token there")
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    app = create_app(open_store, token=token, loopback_only_hosts=loopback)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    shown = f"[{host}]" if ":" in host else host
    ready(f"http://{shown}:{bound}/" + (f"?token={token}" if token else ""))
    try:
        await server.serve(sockets=[sock])
    finally:
        sock.close()
