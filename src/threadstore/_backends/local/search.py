"""Full-text search over a home's index.

Candidates come in listing order and each is confirmed (and its snippet taken) by a case-folded
substring test on the thread's stored texts. A term found in many texts is looked for by walking
the listing (the page fills after a few threads); any other through the trigram index (a text
holding every trigram of the term); a term under three characters has no trigram, so its texts
are scanned. The cost therefore depends on the page size, not on the number of threads.
"""

from __future__ import annotations

from typing import Final

from threadstore._backends.local.catalog import Catalog
from threadstore._backends.local.index import PageFilter, PageQuery, PageRow, trigram_query
from threadstore._backends.shared.query import Cursor, decode_cursor, encode_cursor, snippet
from threadstore._contract.listing import SearchThreadsParams, StoredThreadSearchResult, ThreadSearchPage
from threadstore._time import from_ms

__all__ = ["search_threads"]

#: A term in at least this many texts is searched by walking the listing...
_COMMON_TERM_TEXTS: Final = 2000
#: ... for at most this many threads before the trigram index takes over.
_WALK_BUDGET: Final = 1000


def search_threads(catalog: Catalog, params: SearchThreadsParams, where: PageFilter) -> ThreadSearchPage:
    """One page of threads matching ``params`` and the listing filter ``where``."""
    term = params.search_term.strip()
    fts = trigram_query(term)
    found: list[tuple[PageRow, str]] | None = None
    if fts is not None and catalog.index.matches_at_least(fts, _COMMON_TERM_TEXTS):
        found = _confirmed_page(catalog, params, term, where, budget=_WALK_BUDGET)
    if found is None:
        narrowed = PageFilter(
            source_kinds=where.source_kinds,
            source_jsons=where.source_jsons,
            labels=where.labels,
            text_fts=fts,
            pending_term=term if fts is not None else None,
            text_term=term if fts is None else None,
        )
        found = _confirmed_page(catalog, params, term, narrowed, budget=None)
        assert found is not None
    next_cursor = None
    if len(found) > params.page_size:
        last = found[params.page_size - 1][0]
        next_cursor = encode_cursor(from_ms(last.sort_ms), last.thread_id)
    hits = [
        StoredThreadSearchResult(row.thread(), snippet(text, term) or text[:144])
        for row, text in found[: params.page_size]
    ]
    return ThreadSearchPage(items=hits, next_cursor=next_cursor)


def _confirmed_page(
    catalog: Catalog, params: SearchThreadsParams, term: str, where: PageFilter, budget: int | None
) -> list[tuple[PageRow, str]] | None:
    """Up to one page (plus one) of threads matching ``where`` whose texts contain ``term``,
    with the first such text; None when more than ``budget`` rows were examined first."""
    wanted = params.page_size + 1  # one more than a page tells whether another page exists
    found: list[tuple[PageRow, str]] = []
    query = PageQuery(
        archived=params.archived,
        sort_key=params.sort_key,
        descending=params.sort_direction == "desc",
        after=decode_cursor(params.cursor),
        limit=wanted,
        where=where,
    )
    examined = 0
    while len(found) < wanted:
        batch = catalog.page(query)
        for row in batch:
            text = catalog.index.first_text(row.num, term)
            if text is not None:
                found.append((row, text))
                if len(found) == wanted:
                    break
        if len(batch) < wanted:
            break
        examined += len(batch)
        if budget is not None and examined >= budget:
            return None
        query = query.continued(Cursor(batch[-1].sort_ms, batch[-1].thread_id))
    return found
