"""Short texts people read about a thread: its title, how long ago something happened, a
directory that fits a column, and where a search term matches. Shared by the command line and
the web page."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

from threadstore._contract.types import StoredThread

__all__ = ["match_spans", "relative_time", "short_path", "thread_title"]

UNTITLED = "(untitled)"


def thread_title(thread: StoredThread) -> str:
    """The thread's name, else its preview (its first user message), on one line."""
    for text in (thread.name, thread.preview, thread.first_user_message):
        if text and text.strip():
            return " ".join(text.split())
    return UNTITLED


def relative_time(when: datetime | None, now: datetime | None = None) -> str:
    """``just now``, ``12 min ago``, ``3 h ago``, ``5 d ago``; the date (``2026-11-25``) past 30
    days or for times in the future (clock skew beyond a minute); empty for None."""
    if when is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = (now - when).total_seconds()
    if -60 < seconds < 60:
        return "just now"
    if seconds < 0 or seconds >= 30 * 86400:
        return when.astimezone(UTC).strftime("%Y-%m-%d")
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def short_path(path: str, width: int | None = None, home: str | None = None) -> str:
    """``path`` with the home directory written ``~``, and, when longer than ``width``
    characters, cut from the left (``…/src/threadstore``), at a separator when one is near."""
    home = home if home is not None else os.path.expanduser("~")
    if home and home != "/" and (path == home or path.startswith(home.rstrip("/") + "/")):
        path = "~" + path[len(home.rstrip("/")) :]
    if width is None or len(path) <= width:
        return path
    if width <= 1:
        return "…"[:width]
    tail = path[len(path) - (width - 1) :]
    cut = tail.find("/")
    if 0 <= cut < len(tail) - 1 and cut <= width // 2:
        tail = tail[cut:]
    return "…" + tail


def match_spans(text: str, term: str) -> list[tuple[int, int]]:
    """The (start, end) of every case-insensitive occurrence of ``term`` in ``text`` (runs of
    whitespace in the term match any run of whitespace), in order, not overlapping."""
    words = term.split()
    if not words:
        return []
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    return [m.span() for m in pattern.finditer(text)]
