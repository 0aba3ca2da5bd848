"""Message framing: one JSON object per line, JSON-RPC 2.0 shapes without ``"jsonrpc"``.

* request ``{"id", "method", "params"?}`` (ids are integers or strings),
* notification ``{"method", "params"?}``,
* response ``{"id", "result"}`` or ``{"id", "error": {"code", "message"}}``.

:func:`decode` classifies one incoming line; :func:`encode` produces one outgoing line (with its
newline). Encoding never emits a raw newline inside a message, so a line is always a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threadstore import _json
from threadstore._appserver.errors import INVALID_REQUEST, PARSE_ERROR, RpcError

__all__ = [
    "Incoming",
    "Notification",
    "Request",
    "RequestId",
    "Response",
    "decode",
    "encode",
    "error_response",
    "notification",
    "response",
]

RequestId = int | str


@dataclass(frozen=True, slots=True)
class Request:
    id: RequestId
    method: str
    params: Any


@dataclass(frozen=True, slots=True)
class Notification:
    method: str
    params: Any


@dataclass(frozen=True, slots=True)
class Response:
    """A client's answer to a server request (this server sends none; they are ignored)."""

    id: RequestId | None


Incoming = Request | Notification | Response


class DecodeError(RpcError):
    """A line that is not a message; ``id`` is the request id when one could be read."""

    def __init__(self, code: int, message: str, id: RequestId | None = None) -> None:
        super().__init__(code, message)
        self.id = id


def _valid_id(value: object) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)


def decode(line: bytes | str) -> Incoming:
    """Classify one line; raises :class:`DecodeError` (parse error or invalid request)."""
    try:
        value = _json.loads(line)
    except ValueError as exc:
        raise DecodeError(PARSE_ERROR, f"Parse error: {exc}") from None
    if not isinstance(value, dict):
        raise DecodeError(INVALID_REQUEST, "Invalid request: a message must be a JSON object")
    raw_id = value.get("id")
    has_id = "id" in value and raw_id is not None
    if has_id and not _valid_id(raw_id):
        raise DecodeError(INVALID_REQUEST, "Invalid request: id must be an integer or a string")
    request_id: RequestId | None = raw_id if has_id else None
    method = value.get("method")
    if method is None:
        if "result" in value or "error" in value:
            return Response(request_id)
        raise DecodeError(INVALID_REQUEST, "Invalid request: missing method", request_id)
    if not isinstance(method, str) or not method:
        raise DecodeError(INVALID_REQUEST, "Invalid request: method must be a non-empty string", request_id)
    params = value.get("params")
    if request_id is None:
        return Notification(method, params)
    return Request(request_id, method, params)


def encode(message: dict[str, Any]) -> bytes:
    """One outgoing line (compact JSON and ``\\n``)."""
    return _json.dumps(message) + b"\n"


def response(request_id: RequestId, result: Any) -> dict[str, Any]:
    return {"id": request_id, "result": result}


def error_response(request_id: RequestId | None, error: RpcError) -> dict[str, Any]:
    return {"id": request_id, "error": error.to_json()}


def notification(method: str, params: Any) -> dict[str, Any]:
    return {"method": method, "params": params}
