"""The JSON form of threads, shared by the command line and the app server.

A thread's JSON uses the :class:`~threadstore.StoredThread` field names; timestamps are RFC 3339
strings (UTC, millisecond precision, ``Z``); ``git_info`` and ``token_usage`` are objects or
null; ``history`` is the list of items when it was loaded and null otherwise.
"""

from __future__ import annotations

from typing import Any

from threadstore._contract.listing import StoredThreadSearchResult, ThreadPage, ThreadSearchPage
from threadstore._contract.serialize import thread_to_json

__all__ = ["page_to_json", "search_page_to_json", "thread_to_json"]


def page_to_json(page: ThreadPage) -> dict[str, Any]:
    """``{"threads": [...], "next_cursor": ...}``."""
    return {"threads": [thread_to_json(t) for t in page.items], "next_cursor": page.next_cursor}


def _hit(result: StoredThreadSearchResult) -> dict[str, Any]:
    return {"thread": thread_to_json(result.thread), "snippet": result.snippet}


def search_page_to_json(page: ThreadSearchPage) -> dict[str, Any]:
    """``{"results": [{"thread": ..., "snippet": ...}], "next_cursor": ...}``."""
    return {"results": [_hit(r) for r in page.items], "next_cursor": page.next_cursor}
