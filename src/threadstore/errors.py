"""The error hierarchy every backend raises.

No backend lets a driver's or the operating system's exception escape: each is mapped to one of
the classes below. The message texts follow the reference implementation so that callers (and
people reading logs) see the same words whichever backend answered.
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "Internal",
    "InvalidRequest",
    "ResourceExhausted",
    "ThreadNotFound",
    "ThreadStoreError",
    "Unsupported",
]


class ThreadStoreError(Exception):
    """Base class of every error a thread store raises."""

    #: Short machine-readable name of the error kind (stable across versions).
    kind: str = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ThreadNotFound(ThreadStoreError):
    """The thread does not exist, or (for live operations) has no live writer."""

    kind = "thread_not_found"

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"thread {thread_id} not found")
        self.thread_id = thread_id


class InvalidRequest(ThreadStoreError):
    """The request is malformed or not allowed in the thread's current state."""

    kind = "invalid_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.detail = message

    def __str__(self) -> str:
        return f"invalid thread-store request: {self.detail}"


class Conflict(ThreadStoreError):
    """Another writer holds the thread, or a concurrent change won a race."""

    kind = "conflict"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.detail = message

    def __str__(self) -> str:
        return f"thread-store conflict: {self.detail}"


class Unsupported(ThreadStoreError):
    """The backend does not implement this operation."""

    kind = "unsupported"

    def __init__(self, operation: str) -> None:
        super().__init__(operation)
        self.operation = operation

    def __str__(self) -> str:
        return f"thread-store unsupported operation: {self.operation}"


class ResourceExhausted(ThreadStoreError):
    """A size limit was exceeded or the storage medium is full."""

    kind = "resource_exhausted"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.detail = message

    def __str__(self) -> str:
        return f"thread-store resource exhausted: {self.detail}"


class Internal(ThreadStoreError):
    """An unexpected failure inside the backend (I/O error, corrupt state, bug)."""

    kind = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.detail = message

    def __str__(self) -> str:
        return f"thread-store internal error: {self.detail}"
