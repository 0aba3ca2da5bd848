"""Thread and search-result tables that fit the terminal: one line per thread, whatever the width.

Columns are chosen by width. A listing always shows the id, the update time and the title (at
least :data:`TITLE_MIN` cells); the directory, source, creation time and provider join in that
order only while the title keeps :data:`TITLE_COMFORT` cells. A search always shows the id, the
title and the snippet around the match (the term highlighted), and the update time when there
is room. Whatever does not fit in its cell ends in ``…``; a directory is cut
from the left (``…/project/src``, ``~`` for the home directory); times are relative ("3 h ago").
Programs use ``--json`` instead, with RFC 3339 times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from rich.console import Console
from rich.text import Text

from threadstore._contract.listing import StoredThreadSearchResult
from threadstore._contract.types import StoredThread, source_kind
from threadstore._view import labels_text, match_spans, relative_time, short_path, thread_title

__all__ = ["TITLE_COMFORT", "TITLE_MIN", "search_table", "thread_table"]

SEP: Final = 2
ID_WIDTH: Final = 36
TIME_WIDTH: Final = 10
TITLE_MIN: Final = 16
TITLE_COMFORT: Final = 40
SNIPPET_MIN: Final = 24
_HIGHLIGHT: Final = "bold reverse"


@dataclass
class _Column:
    header: str
    width: int
    cell: Callable[[int, int], Text]
    """(row index, width) -> the cell's text."""
    wants: int = 0
    """Cells it could use beyond ``width``."""


def _fit(text: Text | str, width: int, style: str = "") -> Text:
    cell = text.copy() if isinstance(text, Text) else Text(text, style=style)
    cell.truncate(width, overflow="ellipsis", pad=True)
    return cell


def _render(console: Console, columns: list[_Column], rows: int) -> None:
    header = Text()
    for index, column in enumerate(columns):
        header.append_text(_fit(Text(column.header, style="bold"), column.width))
        if index < len(columns) - 1:
            header.append(" " * SEP)
    header.rstrip()
    console.print(header, no_wrap=True, crop=True)
    for row in range(rows):
        line = Text()
        for index, column in enumerate(columns):
            line.append_text(_fit(column.cell(row, column.width), column.width))
            if index < len(columns) - 1:
                line.append(" " * SEP)
        line.rstrip()
        console.print(line, no_wrap=True, crop=True)


def _grow(columns: Sequence[_Column], spare: int) -> None:
    """Hand ``spare`` cells to the columns that want them, in order."""
    for column in columns:
        extra = min(spare, column.wants)
        column.width += extra
        column.wants -= extra
        spare -= extra


def _longest(values: Sequence[str], header: str, cap: int) -> int:
    return min(cap, max([len(header), *(len(v) for v in values)]))


def thread_table(console: Console, threads: Sequence[StoredThread], now: datetime | None = None) -> None:
    """One line per thread in ``console``'s width (see the module documentation)."""
    now = now or datetime.now(UTC)
    titles = [thread_title(t) for t in threads]
    sources = [source_kind(t.source) for t in threads]
    providers = [t.model_provider for t in threads]
    paths = [short_path(t.cwd) for t in threads]
    labels = [labels_text(t.labels) for t in threads]
    ident = _Column("id", ID_WIDTH, lambda r, w: Text(threads[r].thread_id, style="cyan"))
    title = _Column("title", TITLE_MIN, lambda r, w: Text(titles[r]))
    title.wants = max(0, _longest(titles, "title", 200) - TITLE_MIN)
    updated = _Column("updated", TIME_WIDTH, lambda r, w: Text(relative_time(threads[r].updated_at, now), style="dim"))
    cwd = _Column("cwd", 12, lambda r, w: Text(short_path(threads[r].cwd, w), style="dim"))
    cwd.wants = max(0, _longest(paths, "cwd", 60) - 12)
    optional = [
        cwd,
        _Column("source", _longest(sources, "source", 12), lambda r, w: Text(sources[r])),
        _Column("created", TIME_WIDTH, lambda r, w: Text(relative_time(threads[r].created_at, now), style="dim")),
        _Column("provider", _longest(providers, "provider", 14), lambda r, w: Text(providers[r])),
    ]
    if any(labels):
        optional.insert(1, _Column("labels", _longest(labels, "labels", 30), lambda r, w: Text(labels[r], style="green")))
    chosen = _choose(console.width, [ident, updated, title], optional, title)
    order = ["id", "updated", "created", "title", "labels", "source", "provider", "cwd"]
    chosen.sort(key=lambda c: order.index(c.header))
    _render(console, chosen, len(threads))


def _choose(width: int, base: list[_Column], optional: list[_Column], title: _Column) -> list[_Column]:
    """``base`` plus the optional columns (in priority order, stopping at the first that does
    not fit) that leave the title :data:`TITLE_COMFORT` cells. The spare width goes to the title
    up to that comfort, then to the other columns that want it, then to the title again."""

    chosen = list(base)
    for column in optional:
        if width - _used([*chosen, column]) + title.width < TITLE_COMFORT:
            break
        chosen.append(column)
    spare = max(0, width - _used(chosen))
    first = min(spare, max(0, TITLE_COMFORT - title.width), title.wants)
    _grow([title], first)
    _grow([*(c for c in chosen if c is not title), title], spare - first)
    return chosen


def _window(text: str, spans: list[tuple[int, int]], width: int) -> tuple[str, list[tuple[int, int]]]:
    """A part of ``text`` at most ``width`` long that shows its first match (a quarter of the
    width before it), with the match spans moved to the part."""
    flat = text
    if len(flat) <= width or not spans:
        return flat, spans
    start = max(0, min(spans[0][0] - width // 4, len(flat) - width))
    part = flat[start : start + width]
    moved = [(a - start, b - start) for a, b in spans if a >= start and b <= start + width]
    if start > 0:
        part = "…" + part[1:]
    return part, moved


def _snippet(snippet: str, term: str, width: int) -> Text:
    flat = " ".join(snippet.split())
    part, spans = _window(flat, match_spans(flat, term), width)
    text = Text(part)
    for a, b in spans:
        text.stylize(_HIGHLIGHT, max(0, a), b)
    return text


def search_table(
    console: Console, results: Sequence[StoredThreadSearchResult], term: str, now: datetime | None = None
) -> None:
    """One line per matching thread: its id, title and the snippet around the match (the term
    highlighted)."""
    now = now or datetime.now(UTC)
    titles = [thread_title(r.thread) for r in results]
    snippets = [" ".join(r.snippet.split()) for r in results]
    ident = _Column("id", ID_WIDTH, lambda r, w: Text(results[r].thread.thread_id, style="cyan"))
    title = _Column("title", TITLE_MIN, lambda r, w: Text(titles[r]))
    title.wants = max(0, _longest(titles, "title", 40) - TITLE_MIN)
    snippet = _Column("snippet", SNIPPET_MIN, lambda r, w: _snippet(results[r].snippet, term, w))
    snippet.wants = max(0, _longest(snippets, "snippet", 200) - SNIPPET_MIN)
    updated = _Column(
        "updated", TIME_WIDTH, lambda r, w: Text(relative_time(results[r].thread.updated_at, now), style="dim")
    )
    columns = [ident, title, snippet]
    if console.width - _used(columns) >= TIME_WIDTH + SEP + 20:
        columns.insert(1, updated)
    spare = max(0, console.width - _used(columns))
    first = min(title.wants, spare // 3)
    _grow([title], first)
    _grow([snippet, title], spare - first)
    _render(console, columns, len(results))


def _used(columns: Sequence[_Column]) -> int:
    return sum(c.width for c in columns) + SEP * (len(columns) - 1)
