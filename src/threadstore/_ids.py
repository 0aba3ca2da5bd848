"""Thread ids: UUID strings; new ones are UUIDv7 (time-ordered)."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid

from threadstore.errors import InvalidRequest

__all__ = ["is_thread_id", "new_thread_id", "validate_thread_id"]

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

_lock = threading.Lock()
_last_ms = 0
_last_counter = 0


def new_thread_id() -> str:
    """Return a new UUIDv7 string (RFC 9562).

    Ids made by one process are strictly increasing: within one millisecond a 12-bit counter
    (seeded randomly) orders them, so sorting ids sorts threads by creation.
    """
    global _last_ms, _last_counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            _last_counter = int.from_bytes(os.urandom(2), "big") & 0x7FF
        else:
            _last_counter += 1
            if _last_counter > 0xFFF:
                _last_ms += 1
                _last_counter = 0
            ms = _last_ms
        counter = _last_counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand
    return str(uuid.UUID(int=value))


def is_thread_id(value: object) -> bool:
    """True when ``value`` is a canonical (lower-case, hyphenated) UUID string."""
    return isinstance(value, str) and _UUID_RE.match(value) is not None


def validate_thread_id(value: object, what: str = "thread id") -> str:
    """Return ``value`` as a canonical thread id or raise :class:`InvalidRequest`.

    Upper-case UUIDs are accepted and lower-cased; anything else (including strings that could
    traverse paths) is refused.
    """
    if isinstance(value, str):
        lowered = value.strip().lower()
        if _UUID_RE.match(lowered):
            return lowered
    shown = repr(value) if not isinstance(value, str) else value[:80]
    raise InvalidRequest(f"invalid {what}: {shown}")
