"""Where an app server listens (``--listen``) and the token its WebSocket clients must show.

* ``stdio://`` (the default): one client on stdin/stdout.
* ``ws://HOST:PORT``: WebSocket clients on ``HOST:PORT`` (port ``0`` picks a free one; an IPv6
  host is written in brackets, ``ws://[::1]:4500``). A listener on an address other than
  loopback must be given a token: anyone who can reach it could otherwise drive the threads.

A token comes from ``--token`` or from the first line of ``--token-file`` (not both); clients
send it as ``Authorization: Bearer <token>`` on the upgrade request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from threadstore._net import is_loopback

__all__ = ["Listen", "check_listen", "load_token", "parse_listen"]


@dataclass(frozen=True)
class Listen:
    """A parsed ``--listen``: ``kind`` is ``"stdio"`` or ``"ws"`` (then with host and port)."""

    kind: str
    host: str = ""
    port: int = 0

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def parse_listen(value: str) -> Listen:
    """Parse ``--listen``; raises ``ValueError`` with a message meant for people."""
    if value in ("stdio", "stdio://"):
        return Listen("stdio")
    parts = urlsplit(value)
    if parts.scheme != "ws":
        raise ValueError(f"unsupported --listen {value!r}: use stdio:// or ws://HOST:PORT")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or parts.path not in ("", "/") or parts.query or parts.username:
        raise ValueError(f"--listen {value!r} must be ws://HOST:PORT")
    return Listen("ws", parts.hostname, port)


def load_token(token: str | None, token_file: str | None) -> str | None:
    """The bearer token from ``--token`` or ``--token-file``, or None for none."""
    if token is not None and token_file is not None:
        raise ValueError("give --token or --token-file, not both")
    if token_file is not None:
        try:
            lines = Path(token_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the token file {token_file}: {exc}") from None
        token = lines[0] if lines else ""
    if token is None:
        return None
    token = token.strip()
    if not token:
        raise ValueError("the bearer token is empty")
    return token


def check_listen(listen: Listen, token: str | None) -> None:
    """Refuse combinations that make no sense or are unsafe (``ValueError``)."""
    if listen.kind == "stdio" and token is not None:
        raise ValueError("a bearer token applies to ws:// listeners only")
    if listen.kind == "ws" and token is None and not listen.loopback:
        raise ValueError(
            f"listening on {listen.host} (not loopback) needs a bearer token: give --token or --token-file"
        )
