"""What one client may hold of an app server's memory, whatever it sends or fails to read.

* **Requests in flight**: at most :attr:`ConnectionLimits.max_in_flight` requests of one
  connection are handled at once, and the requests being handled hold at most
  :attr:`~ConnectionLimits.max_queued_bytes` (one larger request is taken alone). Past that, the
  connection reads nothing more until a request is answered: a client that floods is slowed (its
  own socket fills up), others are served meanwhile.
* **Queued output**: answers and notifications wait in a connection's queue until its client
  reads them. Past :attr:`~ConnectionLimits.max_queued_bytes`, the connection reads no more
  requests until the queue is down to half of that. A client that does not read it down within
  :attr:`~ConnectionLimits.stall_timeout` seconds, or whose queue reaches twice the limit (the
  notifications of busy threads keep coming), is disconnected and its queue dropped: never
  buffered without end.

A connection therefore holds at most about twice ``max_queued_bytes`` of requests and answers,
plus what its transport buffers (for WebSocket, a few frames of at most the largest message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_LIMITS", "ConnectionLimits"]


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The limits of the module documentation (``threadstore app-server`` flags in brackets)."""

    #: Requests of one connection handled at once (``--max-requests-in-flight``, 64).
    max_in_flight: int = 64
    #: Bytes of output a connection may queue, and of requests it may have in flight
    #: (``--max-queued-mb``, 16 MiB).
    max_queued_bytes: int = 16 * 1024 * 1024
    #: Seconds a client may take to read its queue down before it is disconnected
    #: (``--stall-timeout``, 30).
    stall_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.max_in_flight < 1 or self.max_queued_bytes < 1 or self.stall_timeout <= 0:
            raise ValueError("connection limits must be positive")


DEFAULT_LIMITS: Final = ConnectionLimits()
