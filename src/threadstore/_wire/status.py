"""The mapping between store errors and gRPC status codes, in both directions.

Server side (:func:`status_of`): ``ThreadNotFound`` → ``NOT_FOUND``; ``InvalidRequest`` →
``INVALID_ARGUMENT``; ``Conflict`` → ``ALREADY_EXISTS`` for create/resume (a second live writer),
``ABORTED`` for writes that lost their writer to a concurrent one, ``FAILED_PRECONDITION``
otherwise; ``Unsupported`` → ``UNIMPLEMENTED``; ``ResourceExhausted`` → ``RESOURCE_EXHAUSTED``;
anything else → ``INTERNAL``. The status details are the error's display text (what a Codex
client shows); the trailing metadata also carries the error kind and its bare detail so that
threadstore clients rebuild the exact error.

Client side (:func:`error_of`): the kind from the trailing metadata when present, else the code
as Codex maps it (``NOT_FOUND`` → ``ThreadNotFound`` of the requested id; ``INVALID_ARGUMENT`` →
``InvalidRequest``; ``ALREADY_EXISTS``/``FAILED_PRECONDITION``/``ABORTED`` → ``Conflict``;
``UNIMPLEMENTED`` → ``Unsupported``; ``RESOURCE_EXHAUSTED`` → ``ResourceExhausted``; anything
else, ``UNAUTHENTICATED`` included → ``Internal`` with the message).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import grpc

from threadstore.errors import (
    Conflict,
    Internal,
    InvalidRequest,
    ResourceExhausted,
    ThreadNotFound,
    ThreadStoreError,
    Unsupported,
)

__all__ = ["KIND_KEY", "DETAIL_KEY", "error_of", "error_metadata", "status_of"]

KIND_KEY: Final = "threadstore-error-kind"
DETAIL_KEY: Final = "threadstore-error-detail-bin"

_CREATE_METHODS: Final = frozenset({"CreateThread", "ResumeThread"})
_WRITE_METHODS: Final = frozenset({"AppendItems", "PersistThread", "FlushThread", "ShutdownThread"})


def status_of(exc: ThreadStoreError, method: str) -> grpc.StatusCode:
    """The status code a server answers ``exc`` with, raised by ``method``."""
    if isinstance(exc, ThreadNotFound):
        return grpc.StatusCode.NOT_FOUND
    if isinstance(exc, InvalidRequest):
        return grpc.StatusCode.INVALID_ARGUMENT
    if isinstance(exc, Conflict):
        if method in _CREATE_METHODS:
            return grpc.StatusCode.ALREADY_EXISTS
        if method in _WRITE_METHODS:
            return grpc.StatusCode.ABORTED
        return grpc.StatusCode.FAILED_PRECONDITION
    if isinstance(exc, Unsupported):
        return grpc.StatusCode.UNIMPLEMENTED
    if isinstance(exc, ResourceExhausted):
        return grpc.StatusCode.RESOURCE_EXHAUSTED
    return grpc.StatusCode.INTERNAL


def _detail(exc: ThreadStoreError) -> str:
    if isinstance(exc, ThreadNotFound):
        return exc.thread_id
    if isinstance(exc, Unsupported):
        return exc.operation
    return exc.message


MAX_DETAIL_BYTES: Final = 2048


def error_metadata(exc: ThreadStoreError) -> tuple[tuple[str, str | bytes], ...]:
    """Trailing metadata that lets a threadstore client rebuild ``exc`` (its detail cut to
    :data:`MAX_DETAIL_BYTES`, so that an echoed bad value never outgrows the headers)."""
    detail = _detail(exc).encode("utf-8", "backslashreplace")[:MAX_DETAIL_BYTES]
    return ((KIND_KEY, exc.kind), (DETAIL_KEY, detail))


_KINDS: Final[dict[str, type[ThreadStoreError]]] = {
    cls.kind: cls for cls in (InvalidRequest, Conflict, Unsupported, ResourceExhausted, Internal)
}


def _from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> ThreadStoreError | None:
    if not metadata:
        return None
    values = {key: value for key, value in metadata}
    kind = values.get(KIND_KEY)
    raw = values.get(DETAIL_KEY)
    if not isinstance(kind, str) or raw is None:
        return None
    detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if kind == ThreadNotFound.kind:
        return ThreadNotFound(detail)
    cls = _KINDS.get(kind)
    return cls(detail) if cls is not None else None


def error_of(
    code: grpc.StatusCode,
    details: str | None,
    trailing: Iterable[tuple[str, str | bytes]] | None,
    thread_id: str | None,
) -> ThreadStoreError:
    """The store error a failed call stands for (``thread_id`` is the request's, if any)."""
    rebuilt = _from_metadata(trailing)
    if rebuilt is not None:
        return rebuilt
    message = details or code.name
    if code == grpc.StatusCode.NOT_FOUND:
        return ThreadNotFound(thread_id) if thread_id else InvalidRequest(message)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidRequest(message)
    if code in (grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ABORTED):
        return Conflict(message)
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return Unsupported(message)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return ResourceExhausted(message)
    return Internal(f"remote thread store request failed: {code.name}: {message}")
