"""Listing and search rules shared by the backends: cursors, filters and snippets."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from threadstore._contract.listing import ListThreadsParams
from threadstore._contract.types import SessionSource, StoredThread, source_kind
from threadstore._ids import is_thread_id
from threadstore._time import format_rfc3339, parse_timestamp, to_ms
from threadstore.errors import InvalidRequest

__all__ = [
    "Cursor",
    "decode_cursor",
    "encode_cursor",
    "has_labels",
    "matches_filters",
    "normalize_cwd",
    "snippet",
    "sort_ms",
]


@dataclass(frozen=True, slots=True)
class Cursor:
    """A keyset position: the sort timestamp (ms) of the last item and, optionally, its id."""

    ts_ms: int
    thread_id: str | None

    def before(self, ts_ms: int, thread_id: str, descending: bool) -> bool:
        """Whether a thread with this key comes after the cursor in the listing order."""
        if self.thread_id is None:
            return ts_ms < self.ts_ms if descending else ts_ms > self.ts_ms
        if descending:
            return (ts_ms, thread_id) < (self.ts_ms, self.thread_id)
        return (ts_ms, thread_id) > (self.ts_ms, self.thread_id)


def encode_cursor(ts: datetime, thread_id: str) -> str:
    """``<RFC 3339 timestamp>|<thread id>``: opaque to callers."""
    return f"{format_rfc3339(ts)}|{thread_id}"


def decode_cursor(cursor: str | None) -> Cursor | None:
    """Parse a cursor; raises ``InvalidRequest("invalid cursor: …")`` when it is not one."""
    if cursor is None:
        return None
    text, sep, thread_id = cursor.rpartition("|")
    if not sep:
        text, thread_id = cursor, ""
    ts = parse_timestamp(text)
    if ts is None or (sep and not is_thread_id(thread_id)):
        shown = cursor if len(cursor) <= 80 else f"{cursor[:80]}... ({len(cursor)} characters)"
        raise InvalidRequest(f"invalid cursor: {shown}")
    return Cursor(ts_ms=to_ms(ts), thread_id=thread_id or None)


def sort_ms(thread: StoredThread, sort_key: str) -> int:
    """The sort timestamp of a thread in ms (created or updated)."""
    return to_ms(thread.updated_at if sort_key == "updated_at" else thread.created_at)


def normalize_cwd(cwd: str) -> str:
    """The form in which cwds are compared (normalized, no trailing separator)."""
    return os.path.normpath(cwd) if cwd else cwd


def source_allowed(source: SessionSource, allowed: Sequence[SessionSource]) -> bool:
    if not allowed:
        return True
    kind = source_kind(source)
    return any(a == source or (isinstance(a, str) and a == kind) for a in allowed)


def has_labels(thread: StoredThread, labels: Mapping[str, str]) -> bool:
    """Whether ``thread`` carries every one of ``labels``."""
    return all(thread.labels.get(key) == value for key, value in labels.items())


def matches_filters(thread: StoredThread, params: ListThreadsParams) -> bool:
    """Whether ``thread`` passes every filter of ``params`` (not the cursor or collection)."""
    if not source_allowed(thread.source, params.allowed_sources):
        return False
    if params.model_providers and thread.model_provider not in params.model_providers:
        return False
    if params.cwd_filters is not None:
        wanted = {normalize_cwd(c) for c in params.cwd_filters}
        if normalize_cwd(thread.cwd) not in wanted:
            return False
    if params.labels and not has_labels(thread, params.labels):
        return False
    if params.search_term:
        term = params.search_term.casefold()
        fields = (thread.name or "", thread.preview, thread.first_user_message or "")
        if not any(term in f.casefold() for f in fields):
            return False
    return True


_SPACE_RE = re.compile(r"\s+")
SNIPPET_BEFORE = 48
SNIPPET_AFTER = 96


def _folded(text: str) -> tuple[str, list[int] | None]:
    """``text`` case-folded, and where each folded character came from (None when the folding
    kept every position, as it does for ASCII)."""
    if text.isascii():
        return text.lower(), None
    parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = char.casefold()
        parts.append(folded)
        origin.extend([index] * len(folded))
    return "".join(parts), origin


def snippet(text: str, term: str) -> str | None:
    """The text around the first case-insensitive occurrence of ``term`` (Unicode case folding,
    so ``"SS"`` finds ``"Großstraße"``): whitespace collapsed, 48 characters before and 96
    after, with ``"... "`` / ``" ..."`` marking cuts. None when the term does not occur."""
    flat = _SPACE_RE.sub(" ", text).strip()
    needle = _SPACE_RE.sub(" ", term).strip().casefold()
    if not needle:
        return None
    folded, origin = _folded(flat)
    index = folded.find(needle)
    if index < 0:
        return None
    first = index if origin is None else origin[index]
    last = index + len(needle) if origin is None else origin[index + len(needle) - 1] + 1
    start = max(0, first - SNIPPET_BEFORE)
    end = min(len(flat), last + SNIPPET_AFTER)
    prefix = "... " if start > 0 else ""
    suffix = " ..." if end < len(flat) else ""
    return f"{prefix}{flat[start:end]}{suffix}"
