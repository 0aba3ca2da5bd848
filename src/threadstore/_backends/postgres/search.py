"""Full-text search: trigram candidates, exact confirmation, the shared snippet.

Search must answer exactly as the other backends do: a thread matches when one of its message
texts (:func:`~threadstore._rollout.summary.search_texts`) contains the term under Python's
``str.casefold()`` (so ``"SS"`` finds ``"Großstraße"``), results come in listing order, and the
snippet is :func:`~threadstore._backends.shared.query.snippet` around the first matching text.

PostgreSQL's own text search was not chosen: it matches stemmed words, not substrings, and its
case folding is ``lower()``, not ``casefold()``, so its answers would differ. Instead every text
is stored with its casefolded form (computed in Python) under a ``pg_trgm`` GIN index, and a
page is one query: the listing query of the visible threads in the requested order, restricted
to threads having a text whose folded form is ``LIKE '%term%'`` (wildcards escaped). ``LIKE``
on the folded column *is* the casefold substring test, so no candidate needs a second look in
Python; the trigram index makes rare terms cheap, and for common terms the planner walks the
listing index and stops after a page. The snippet text of each hit (the first matching text in
item order) comes from a second query for the page's threads only.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from threadstore._backends.postgres.db import Connection
from threadstore._backends.postgres.listing import (
    Page,
    label_filter,
    like_pattern,
    next_cursor,
    page_query,
    source_filter,
)
from threadstore._backends.postgres.rows import thread_of
from threadstore._backends.shared.query import snippet
from threadstore._contract.listing import SearchThreadsParams, StoredThreadSearchResult, ThreadSearchPage

__all__ = ["search_page"]

_FIRST_TEXTS: Final = (
    "SELECT DISTINCT ON (thread_id) thread_id, body FROM threadstore.texts "
    "WHERE thread_id = ANY(%s) AND folded LIKE %s ORDER BY thread_id, seq, n"
)


async def search_page(conn: Connection, params: SearchThreadsParams) -> ThreadSearchPage:
    """One page of search results (see the module documentation)."""
    term = params.search_term.strip()
    pattern = like_pattern(term)
    page = Page()
    if params.allowed_sources:
        source_filter(params.allowed_sources, page)
    if params.labels:
        label_filter(params.labels, page)
    page.add("EXISTS (SELECT 1 FROM threadstore.texts x WHERE x.thread_id = t.thread_id AND x.folded LIKE %s)", pattern)
    sql, args = page_query(
        page,
        archived=params.archived,
        sort_key=params.sort_key,
        descending=params.sort_direction == "desc",
        cursor=params.cursor,
        limit=params.page_size + 1,
    )
    cur = await conn.execute(sql, args)
    rows: list[tuple[Any, ...]] = await cur.fetchall()
    hits = rows[: params.page_size]
    texts: dict[uuid.UUID, str] = {}
    if hits:
        cur = await conn.execute(_FIRST_TEXTS, ([r[0] for r in hits], pattern))
        texts = {tid: bytes(body).decode() for tid, body in await cur.fetchall()}
    items = []
    for tid, thread_json, _ in hits:
        text = texts.get(tid, "")
        items.append(StoredThreadSearchResult(thread_of(thread_json), snippet(text, term) or text[:144]))
    return ThreadSearchPage(items=items, next_cursor=next_cursor(rows, params.page_size))
