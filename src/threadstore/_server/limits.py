"""The memory budget of ``threadstore serve``: every limit a client cannot push it past, in one
place, with its flag and default (the README's Security section lists them too).

* Per connection: at most :attr:`ServerLimits.max_streams` calls at once (HTTP/2 concurrent
  streams: a client's further calls wait in the client), and a connection whose client stops
  answering pings for :attr:`ServerLimits.keepalive` seconds while calls are open is closed (what
  it left unread is freed).
* Answers: :class:`AnswerLimits` (see :mod:`.budget`).
* Held creates (Codex's creates that wait for their cwd): :class:`HeldLimits` (see
  :mod:`.deferred`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["AnswerLimits", "HeldLimits", "ServerLimits"]


@dataclass(frozen=True, slots=True)
class AnswerLimits:
    """What answers may hold (``threadstore serve`` flags in brackets; see :mod:`.budget`)."""

    #: Bytes of answers not read yet, the whole server (``--max-unread-mb``, 256 MiB).
    max_unread_bytes: int = 256 * 1024 * 1024
    #: Bytes of answers not read yet, one connection (a quarter of the server's).
    per_connection_bytes: int = 64 * 1024 * 1024
    #: History answers built at once (``--history-builds``, 4).
    history_builds: int = 4
    #: Seconds a call may wait for its turn or its bytes before ``ResourceExhausted`` (30).
    wait: float = 30.0

    def __post_init__(self) -> None:
        if min(self.max_unread_bytes, self.per_connection_bytes, self.history_builds) < 1 or self.wait <= 0:
            raise ValueError("answer limits must be positive")

    @classmethod
    def of_server(cls, max_unread_bytes: int, history_builds: int = 4) -> AnswerLimits:
        """Limits whose connections each get a quarter of ``max_unread_bytes``."""
        return cls(max_unread_bytes, max(1, max_unread_bytes // 4), history_builds)


@dataclass(frozen=True, slots=True)
class HeldLimits:
    """What held creates may hold, all together (see :mod:`.deferred`)."""

    #: Bytes of held creates (their parameters and buffered items) (``--max-held-mb``, 64 MiB);
    #: past it the oldest that hold items are carried out.
    max_bytes: int = 64 * 1024 * 1024
    #: Seconds a create holding items may wait for its cwd before it is carried out
    #: (``--max-held-age``, 60).
    max_age: float = 60.0
    #: Creates held at once; more are refused with ``ResourceExhausted`` (10,000).
    max_creates: int = 10_000

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_age <= 0 or self.max_creates < 1:
            raise ValueError("held-create limits must be positive")


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Every limit of the server (see the module documentation)."""

    #: Calls of one connection at once (``--max-requests-in-flight``, 64).
    max_streams: int = 64
    #: Seconds between keepalive pings, and to answer one, while calls are open (``--keepalive``, 20).
    keepalive: float = 20.0
    answers: AnswerLimits = field(default_factory=AnswerLimits)
    held: HeldLimits = field(default_factory=HeldLimits)

    def __post_init__(self) -> None:
        if self.max_streams < 1 or self.keepalive <= 0:
            raise ValueError("server limits must be positive")
