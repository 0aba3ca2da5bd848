"""Listing queries: filters and keyset pages over the ``threads`` table.

A page is ``ORDER BY (created_ms | updated_ms, thread_id)`` in the requested direction, resumed
after the cursor with a row comparison, so the hundredth page costs what the first does (each
sort, and each filter with the default sort, has a partial index over the visible threads). The
listing ``search_term`` compares casefolded copies of the name, preview and first message
(Python ``str.casefold`` semantics, like every other backend).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from psycopg.types.json import Jsonb

from threadstore._backends.postgres.rows import fold, pg_text, source_json
from threadstore._backends.shared.query import decode_cursor, encode_cursor, normalize_cwd
from threadstore._contract.listing import ListThreadsParams
from threadstore._contract.types import SessionSource
from threadstore._time import from_ms

__all__ = ["Page", "label_filter", "like_pattern", "page_query", "source_filter", "where_listing"]

#: Columns every page query returns first: id, cached thread JSON, sort timestamp.
_SELECT: Final = "SELECT t.thread_id, t.thread_json, t.{column} FROM threadstore.threads t"


@dataclass(slots=True)
class Page:
    """Conditions of one page query, built up by the helpers below."""

    where: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def add(self, clause: str, *args: Any) -> None:
        self.where.append(clause)
        self.args.extend(args)


def like_pattern(term: str) -> str:
    """A ``LIKE`` pattern matching texts whose casefolded form contains ``term``."""
    escaped = fold(term).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def source_filter(allowed: Sequence[SessionSource], page: Page) -> None:
    """Threads whose source kind is one of the allowed strings, or whose whole source equals one
    of the allowed objects."""
    kinds = [pg_text(s) for s in allowed if isinstance(s, str)]
    objects = [source_json(s) for s in allowed if not isinstance(s, str)]
    parts: list[str] = []
    args: list[Any] = []
    if kinds:
        parts.append("t.source_kind = ANY(%s)")
        args.append(kinds)
    if objects:
        parts.append("t.source_json = ANY(%s::jsonb[])")
        args.append(objects)
    page.add(f"({' OR '.join(parts)})", *args)


def label_filter(labels: Mapping[str, str], page: Page) -> None:
    """Threads carrying every one of ``labels`` (a containment test the GIN index serves)."""
    page.add("t.labels @> %s", Jsonb({key: pg_text(value) for key, value in labels.items()}))


def where_listing(params: ListThreadsParams) -> Page:
    """The filter conditions of ``params`` (not the collection or the cursor)."""
    page = Page()
    if params.allowed_sources:
        source_filter(params.allowed_sources, page)
    if params.model_providers:
        page.add("t.model_provider = ANY(%s)", [pg_text(p) for p in params.model_providers])
    if params.cwd_filters:
        page.add("t.cwd = ANY(%s)", [pg_text(normalize_cwd(c)) for c in params.cwd_filters])
    if params.labels:
        label_filter(params.labels, page)
    if params.search_term:
        pattern = like_pattern(params.search_term)
        page.add("(t.name_folded LIKE %s OR t.preview_folded LIKE %s OR t.first_folded LIKE %s)", *[pattern] * 3)
    return page


def page_query(
    page: Page,
    *,
    archived: bool,
    sort_key: str,
    descending: bool,
    cursor: str | None,
    limit: int,
) -> tuple[str, list[Any]]:
    """The SQL and arguments of one keyset page (``limit`` rows at most)."""
    anchor = decode_cursor(cursor)
    column = "updated_ms" if sort_key == "updated_at" else "created_ms"
    op = "<" if descending else ">"
    clauses = ["t.visible", "t.archived = %s", *page.where]
    args: list[Any] = [archived, *page.args]
    if anchor is not None:
        if anchor.thread_id is None:
            clauses.append(f"t.{column} {op} %s")
            args.append(anchor.ts_ms)
        else:
            clauses.append(f"(t.{column}, t.thread_id) {op} (%s, %s)")
            args.extend([anchor.ts_ms, uuid.UUID(anchor.thread_id)])
    order = "DESC" if descending else "ASC"
    sql = (
        f"{_SELECT.format(column=column)} WHERE {' AND '.join(clauses)} "
        f"ORDER BY t.{column} {order}, t.thread_id {order} LIMIT %s"
    )
    return sql, [*args, limit]


def next_cursor(rows: Sequence[tuple[Any, ...]], page_size: int) -> str | None:
    """The cursor after a page of ``page_size`` rows when one more row was fetched."""
    if len(rows) <= page_size:
        return None
    last = rows[page_size - 1]
    return encode_cursor(from_ms(last[2]), str(last[0]))
