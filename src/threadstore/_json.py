"""Fast JSON encoding and decoding (orjson, with a stdlib fallback for values orjson refuses)."""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["JSONDecodeError", "dumps", "dumps_str", "loads"]

JSONDecodeError = ValueError


def dumps(value: Any) -> bytes:
    """Serialize ``value`` to compact UTF-8 JSON bytes.

    Raises ``TypeError`` or ``ValueError`` for values that are not JSON-compatible.
    """
    try:
        return orjson.dumps(value)
    except TypeError:
        # orjson refuses integers wider than 64 bits; the standard library does not.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


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
