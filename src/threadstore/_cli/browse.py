"""``threadstore list`` and ``threadstore search``: pages of threads, as tables or JSON.

People get a table sized to the terminal (:mod:`.tables`), a short sentence when nothing matched,
and the cursor of the next page on stderr. ``--json`` prints ``{"threads": [...], "next_cursor"}``
or ``{"results": [{"thread", "snippet"}], "next_cursor"}`` (:mod:`.jsonout`).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from threadstore import _json
from threadstore._cli.app import app
from threadstore._cli.errors import CliFailure
from threadstore._cli.jsonout import page_to_json, search_page_to_json
from threadstore._cli.output import out_console, print_json
from threadstore._cli.runner import run_store
from threadstore._cli.tables import search_table, thread_table
from threadstore._contract.base import ThreadStore
from threadstore._contract.listing import ListThreadsParams, SearchThreadsParams, ThreadPage
from threadstore._contract.listing import ThreadSearchPage as SearchPage
from threadstore._contract.types import MAX_PAGE_SIZE, SessionSource
from threadstore.errors import InvalidRequest

__all__ = ["label_filter", "list_cmd", "search_cmd"]


class SortKey(StrEnum):
    created_at = "created_at"
    updated_at = "updated_at"


Limit = Annotated[int, typer.Option("--limit", "-n", metavar="N", min=1, max=MAX_PAGE_SIZE, help="Threads per page.")]
Cursor = Annotated[
    str | None,
    typer.Option("--cursor", metavar="CURSOR", help="Continue after this cursor (printed after a full page)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Labels = Annotated[
    list[str] | None,
    typer.Option("--label", "-l", metavar="KEY=VALUE", help="Only threads with this label (repeatable)."),
]


def label_filter(texts: list[str] | None) -> dict[str, str] | None:
    """``--label KEY=VALUE`` options as a label filter (None when there are none)."""
    if not texts:
        return None
    labels: dict[str, str] = {}
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise CliFailure(f"--label {text!r}: write it KEY=VALUE", "usage")
        labels[key] = value
    return labels


def _source(text: str) -> SessionSource:
    """A --source value: a kind (``cli``, ``exec``, ``subagent``...) or a JSON object."""
    if text.startswith("{"):
        try:
            value = _json.loads(text)
        except ValueError as exc:
            raise CliFailure(f"--source {text!r} is not valid JSON: {exc}", "usage") from None
        if isinstance(value, dict):
            return value
        raise CliFailure(f"--source {text!r}: a JSON source must be an object", "usage")
    return text


def _cursor_failure(exc: InvalidRequest, cursor: str | None) -> CliFailure | None:
    if cursor is not None and "cursor" in exc.detail:
        return CliFailure(
            f"--cursor {cursor!r} is not a cursor of this listing (use the one the previous page printed)", "usage"
        )
    return None


def _more(next_cursor: str | None, command: str) -> None:
    if next_cursor:
        sys.stderr.write(f"more: {command} --cursor '{next_cursor}'\n")


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    archived: Annotated[bool, typer.Option("--archived", help="List archived threads instead.")] = False,
    source: Annotated[
        list[str] | None, typer.Option("--source", metavar="KIND", help="Only these sources (repeatable).")
    ] = None,
    provider: Annotated[
        list[str] | None, typer.Option("--provider", metavar="NAME", help="Only these model providers.")
    ] = None,
    cwd: Annotated[
        list[str] | None, typer.Option("--cwd", metavar="DIR", help="Only threads started in these directories.")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", metavar="TEXT", help="Substring of the name or preview.")
    ] = None,
    label: Labels = None,
    sort: Annotated[SortKey, typer.Option("--sort", help="Sort by creation or last update.")] = SortKey.created_at,
    ascending: Annotated[bool, typer.Option("--asc/--desc", help="Oldest first / newest first.")] = False,
    limit: Limit = 50,
    cursor: Cursor = None,
    as_json: AsJson = False,
) -> None:
    """List threads, newest first: one line per thread, sized to the terminal."""
    filtered = bool(source or provider or cwd or search or label)
    labels = label_filter(label)

    async def work(store: ThreadStore) -> ThreadPage:
        params = ListThreadsParams(
            page_size=limit,
            cursor=cursor,
            sort_key=sort.value,
            sort_direction="asc" if ascending else "desc",
            allowed_sources=[_source(s) for s in source or ()],
            model_providers=provider or None,
            cwd_filters=cwd or None,
            archived=archived,
            search_term=search,
            labels=labels,
        )
        try:
            return await store.list_threads(params)
        except InvalidRequest as exc:
            raise _cursor_failure(exc, cursor) or exc from None

    page = run_store(ctx, work)
    if as_json:
        print_json(page_to_json(page))
        return
    if not page.items:
        kind = "archived threads" if archived else "threads"
        typer.echo(f"No {kind} match these filters." if filtered else f"No {kind}.")
    else:
        thread_table(out_console(), page.items)
    _more(page.next_cursor, "threadstore list")


@app.command("search")
def search_cmd(
    ctx: typer.Context,
    term: Annotated[str, typer.Argument(help="Text to look for in the messages.")],
    archived: Annotated[bool, typer.Option("--archived", help="Search archived threads instead.")] = False,
    label: Labels = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    as_json: AsJson = False,
) -> None:
    """Full-text search over the threads' messages; the matches are highlighted."""
    labels = label_filter(label)

    async def work(store: ThreadStore) -> SearchPage:
        params = SearchThreadsParams(
            search_term=term, page_size=limit, cursor=cursor, archived=archived, labels=labels
        )
        try:
            return await store.search_threads(params)
        except InvalidRequest as exc:
            raise _cursor_failure(exc, cursor) or exc from None

    page = run_store(ctx, work)
    if as_json:
        print_json(search_page_to_json(page))
        return
    if not page.items:
        typer.echo(f"No {'archived ' if archived else ''}threads mention {term!r}.")
    else:
        search_table(out_console(), page.items, term)
    _more(page.next_cursor, f"threadstore search {term!r}")
