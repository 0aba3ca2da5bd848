"""JSON-RPC error codes of the app server and the mapping of library errors onto them.

The codes are those of the Codex app server: most
validation failures, unknown threads and refused operations are ``-32600`` (invalid request),
malformed parameters ``-32602``, unknown methods ``-32601`` and anything unexpected ``-32603``.
"""

from __future__ import annotations

from typing import Any, Final

from threadstore._runtime.errors import SteerRejected, ThreadClosed, ThreadRuntimeError
from threadstore.errors import InvalidRequest, ThreadNotFound, ThreadStoreError

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "RpcError",
    "error_from_exception",
]

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603


class RpcError(Exception):
    """An error answer: ``{"code": code, "message": message}``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}

    @classmethod
    def invalid_request(cls, message: str) -> RpcError:
        return cls(INVALID_REQUEST, message)

    @classmethod
    def invalid_params(cls, message: str) -> RpcError:
        return cls(INVALID_PARAMS, message)


def error_from_exception(exc: BaseException) -> RpcError:
    """The answer for an exception raised while handling a request.

    Store and runtime errors keep their own (already clear) message: an unknown thread reads
    ``thread not found: ID``, a refused request the store's explanation. Anything else is an
    internal error whose message names the exception type."""
    if isinstance(exc, RpcError):
        return exc
    if isinstance(exc, ThreadNotFound):
        return RpcError(INVALID_REQUEST, f"thread not found: {exc.thread_id}")
    if isinstance(exc, InvalidRequest):
        return RpcError(INVALID_REQUEST, exc.detail)
    if isinstance(exc, ThreadClosed | SteerRejected):
        return RpcError(INVALID_REQUEST, str(exc))
    if isinstance(exc, ThreadStoreError):
        code = INTERNAL_ERROR if exc.kind == "internal" else INVALID_REQUEST
        return RpcError(code, str(exc))
    if isinstance(exc, ThreadRuntimeError):
        return RpcError(INTERNAL_ERROR, str(exc))
    return RpcError(INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {exc}")
