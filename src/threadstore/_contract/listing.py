"""Listing and searching threads: the parameters of one page and the pages a store answers.

Parameters check themselves when built (page sizes, sort keys, cursors, search terms), so a
store receives only well-formed ones; results come in listing order with an opaque cursor for
the next page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from threadstore._checks import check_labels, check_search_term, check_text
from threadstore._contract.types import (
    SessionSource,
    SortDirection,
    StoredThread,
    ThreadSortKey,
    check_page_size,
    check_sort,
    set_field,
    validate_source,
)
from threadstore.errors import InvalidRequest

__all__ = ["ListThreadsParams", "SearchThreadsParams", "StoredThreadSearchResult", "ThreadPage", "ThreadSearchPage"]


@dataclass(frozen=True, slots=True)
class ListThreadsParams:
    """One page of threads.

    ``allowed_sources`` empty means every source; ``model_providers`` None means every provider
    (an empty list too); ``cwd_filters`` None means every cwd while an empty list matches
    nothing; ``archived`` lists the archived collection *instead of* the active one;
    ``search_term`` is a case-insensitive substring of the name, preview or first message;
    ``labels`` keeps the threads that carry every one of the given labels (None or empty: all).
    """

    page_size: int = 50
    cursor: str | None = None
    sort_key: ThreadSortKey = "created_at"
    sort_direction: SortDirection = "desc"
    allowed_sources: Sequence[SessionSource] = ()
    model_providers: Sequence[str] | None = None
    cwd_filters: Sequence[str] | None = None
    archived: bool = False
    search_term: str | None = None
    labels: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        _check_label_filter(self)
        check_page_size(self.page_size)
        check_sort(self.sort_key, self.sort_direction)
        if self.cursor is not None:
            check_text(self.cursor, "cursor")
        set_field(self, "allowed_sources", tuple(validate_source(s) for s in self.allowed_sources))
        if self.model_providers is not None:
            if isinstance(self.model_providers, str):
                raise InvalidRequest("model_providers must be a list of names")
            set_field(self, "model_providers", tuple(check_text(p, "model provider") for p in self.model_providers))
        if self.cwd_filters is not None:
            if isinstance(self.cwd_filters, str):
                raise InvalidRequest("cwd_filters must be a list of paths")
            set_field(self, "cwd_filters", tuple(check_text(str(p), "cwd filter") for p in self.cwd_filters))
        if self.search_term is not None:
            check_search_term(self.search_term)


def _check_label_filter(params: ListThreadsParams | SearchThreadsParams) -> None:
    if params.labels is not None:
        set_field(params, "labels", check_labels(params.labels, "label filter") or None)


@dataclass(frozen=True, slots=True)
class ThreadPage:
    items: list[StoredThread]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class SearchThreadsParams:
    """Full-text search over the threads' messages; results come in listing order."""

    search_term: str
    page_size: int = 50
    cursor: str | None = None
    archived: bool = False
    sort_key: ThreadSortKey = "created_at"
    sort_direction: SortDirection = "desc"
    allowed_sources: Sequence[SessionSource] = ()
    #: Only threads that carry every one of these labels (None or empty: all).
    labels: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        _check_label_filter(self)
        if not isinstance(self.search_term, str) or not self.search_term.strip():
            raise InvalidRequest("thread/search requires search_term")
        check_search_term(self.search_term)
        check_page_size(self.page_size)
        check_sort(self.sort_key, self.sort_direction)
        if self.cursor is not None:
            check_text(self.cursor, "cursor")
        set_field(self, "allowed_sources", tuple(validate_source(s) for s in self.allowed_sources))


class StoredThreadSearchResult(NamedTuple):
    """One search hit: the thread and a snippet of the matching text."""

    thread: StoredThread
    snippet: str


@dataclass(frozen=True, slots=True)
class ThreadSearchPage:
    items: list[StoredThreadSearchResult] = field(default_factory=list)
    next_cursor: str | None = None
