"""Errors raised by the runtime layer (sessions, threads, the manager and model clients).

Storage failures keep their :class:`~threadstore.errors.ThreadStoreError` classes when they cross
the runtime; the classes below describe failures that belong to the runtime itself.
"""

from __future__ import annotations

__all__ = ["ModelError", "SteerRejected", "ThreadClosed", "ThreadRuntimeError"]


class ThreadRuntimeError(Exception):
    """Base class of the errors the runtime layer raises itself."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ThreadClosed(ThreadRuntimeError):
    """The thread's session has ended: it accepts no more ops and has no more events."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"thread {thread_id} has shut down")
        self.thread_id = thread_id


class SteerRejected(ThreadRuntimeError):
    """Input could not be steered into the running turn: no turn is running (or it is already
    ending), or the running turn is not the one the caller expected. Codex's messages:
    ``no active turn to steer`` and ``expected active turn id `A` but found `B```."""


class ModelError(ThreadRuntimeError):
    """A model client could not produce an answer.

    ``kind`` is a Codex ``codex_error_info`` value (``"http_connection_failed"``,
    ``"server_overloaded"``, ``"unauthorized"``, ``"bad_request"``,
    ``"response_stream_disconnected"``, ``"other"`` ...); ``status_code`` is the HTTP status when
    there was one; ``retryable`` says whether trying again could help.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = "other",
        status_code: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status_code = status_code
        self.retryable = retryable
