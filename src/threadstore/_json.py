"""Fast JSON encoding and decoding (orjson, with a stdlib fallback for values orjson refuses)."""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["JSONDecodeError", "dumps", "dumps_str", "loads"]

JSONDecodeError = ValueError


def dumps(value: Any) -> bytes:
    """Serialize ``value`` to compact UTF-8 JSON bytes.

    Raises ``ValueError`` for values that are not JSON-compatible: objects JSON has no form for,
    non-finite floats, strings that are not valid Unicode (lone surrogates) and values nested
    too deeply to encode.
    """
    try:
        return orjson.dumps(value)
    except TypeError as exc:
        if "Integer exceeds 64-bit range" not in str(exc):
            raise ValueError(str(exc)) from None
    # orjson refuses integers wider than 64 bits; the standard library does not.
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError, UnicodeEncodeError) as exc:
        raise ValueError(str(exc)) from None


def dumps_str(value: Any) -> str:
    """Serialize ``value`` to a compact JSON string."""
    return dumps(value).decode()


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON text; raises ``ValueError`` on malformed input (including invalid UTF-8)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        if isinstance(data, memoryview):
            data = bytes(data)
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ValueError(str(exc)) from None
