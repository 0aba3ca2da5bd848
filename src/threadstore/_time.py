"""Timestamps: timezone-aware UTC datetimes in the API, RFC 3339 strings on disk and in JSON."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

__all__ = [
    "format_rfc3339",
    "now_rfc3339",
    "from_ms",
    "parse_timestamp",
    "to_ms",
    "utc",
    "utc_now",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_LEGACY_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})$")


def utc_now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


_last_stamp: tuple[int, str] = (-1, "")


def now_rfc3339() -> str:
    """The current time in the rollout format (cached per millisecond: this is on the append path)."""
    global _last_stamp
    ms = time.time_ns() // 1_000_000
    if _last_stamp[0] != ms:
        seconds, millis = divmod(ms, 1000)
        _last_stamp = (ms, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z")
    return _last_stamp[1]


def format_rfc3339(value: datetime) -> str:
    """Format as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC, millisecond precision), the rollout format
    (four-digit years always: ``strftime`` would write year 1 as ``1``)."""
    v = value.astimezone(UTC)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond // 1000:03d}Z"


def parse_timestamp(text: object) -> datetime | None:
    """Parse an RFC 3339 timestamp (any precision, ``Z`` or offset) or the legacy file-name form
    ``YYYY-MM-DDTHH-MM-SS`` (taken as UTC). Returns None when ``text`` is not a timestamp, or
    names an instant a UTC datetime cannot hold (year 9999 west of Greenwich, say)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return _parse(text)
    except (ValueError, OverflowError):
        return None


def utc(value: datetime) -> datetime | None:
    """``value`` (aware) in UTC, or None when UTC cannot hold it."""
    try:
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _parse(text: str) -> datetime | None:
    if len(text) == 24 and text[-1] == "Z":  # the canonical form: fast path
        try:
            return datetime.fromisoformat(text).astimezone(UTC)
        except ValueError:
            pass
    legacy = _LEGACY_RE.match(text)
    if legacy:
        y, mo, d, h, mi, s = (int(g) for g in legacy.groups())
        try:
            return datetime(y, mo, d, h, mi, s, tzinfo=UTC)
        except ValueError:
            return None
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    # datetime.fromisoformat accepts at most 6 fractional digits; trim nanoseconds.
    match = re.match(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d+)?(.*)$", candidate)
    if match and match.group(2) and len(match.group(2)) > 7:
        candidate = match.group(1) + match.group(2)[:7] + match.group(3)
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_ms(value: datetime) -> int:
    """Milliseconds since the Unix epoch."""
    return (value - _EPOCH) // _ONE_MS


def from_ms(ms: int) -> datetime:
    """An aware UTC datetime from milliseconds since the Unix epoch."""
    return datetime.fromtimestamp(ms / 1000, UTC)
