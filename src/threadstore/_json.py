"""Fast JSON encoding and decoding (orjson, with the standard library for what orjson cannot
carry exactly: integers wider than 64 bits, which orjson refuses to encode and reads as floats)."""

from __future__ import annotations

import json
import re
from typing import Any, Final

import orjson

__all__ = ["JSONDecodeError", "dumps", "dumps_str", "loads", "may_hold_wide_integer"]

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


#: A run of 20 digits: a number that may not fit in 64 bits (orjson would read it as a float).
#: Bytes are looked at through a table that maps every ASCII digit to "1" and anything else to
#: "0" (two C passes, several times faster than a regular expression on every line read).
_DIGITS: Final = bytes(0x31 if 0x30 <= b <= 0x39 else 0x30 for b in range(256))
_RUN: Final = b"1" * 20
_WIDE_TEXT: Final = re.compile(r"\d{20}")


def may_hold_wide_integer(data: bytes | bytearray) -> bool:
    """Whether JSON text ``data`` may hold an integer wider than 64 bits (a run of 20 digits),
    which only :func:`loads` (not orjson alone) reads exactly."""
    return _RUN in data.translate(_DIGITS)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON text exactly (integers of any size stay integers); raises ``ValueError`` on
    malformed input (including invalid UTF-8). orjson parses unless the text holds a run of 20
    digits (then the standard library does: only it keeps a wide integer an integer)."""
    if isinstance(data, memoryview):
        data = bytes(data)
    wide = _WIDE_TEXT.search(data) is not None if isinstance(data, str) else may_hold_wide_integer(data)
    if not wide:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the standard library says what is wrong (or takes what orjson refuses)
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(str(exc)) from None
