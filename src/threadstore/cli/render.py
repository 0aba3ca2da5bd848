"""Tables and detail views for people (rich). Programs use ``--json`` instead."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import _json
from ..store.types import StoredThread, StoredThreadSearchResult, source_kind
from ..timeutil import format_rfc3339

__all__ = ["thread_details", "search_table", "thread_table"]

_PIPE_WIDTH = 160


def _out() -> Console:
    """A console on the current stdout; wide when it is not a terminal (pipes, files)."""
    return Console(width=None if sys.stdout.isatty() else _PIPE_WIDTH)


def _err() -> Console:
    return Console(stderr=True, width=None if sys.stderr.isatty() else _PIPE_WIDTH)


def _when(thread: StoredThread, field: str) -> str:
    value = getattr(thread, field)
    return format_rfc3339(value)[:19].replace("T", " ") if value is not None else ""


def _title(thread: StoredThread) -> str:
    text = thread.name or thread.preview or ""
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def thread_table(threads: Sequence[StoredThread], next_cursor: str | None) -> None:
    """One row per thread; the cursor of the next page (if any) goes to stderr."""
    table = Table(show_lines=False, header_style="bold")
    for column in ("id", "created", "updated", "title", "source", "provider", "cwd"):
        table.add_column(
            column, no_wrap=column in ("id", "created", "updated"), min_width=36 if column == "id" else None
        )
    for t in threads:
        table.add_row(
            *map(
                Text,
                (
                    t.thread_id,
                    _when(t, "created_at"),
                    _when(t, "updated_at"),
                    _title(t),
                    source_kind(t.source),
                    t.model_provider,
                    t.cwd,
                ),
            )
        )
    _out().print(table)
    if not threads:
        _err().print("no threads")
    if next_cursor:
        _err().print(f"more: --cursor '{next_cursor}'")


def search_table(results: Sequence[StoredThreadSearchResult], next_cursor: str | None) -> None:
    table = Table(header_style="bold")
    for column in ("id", "created", "title", "snippet"):
        table.add_column(column, no_wrap=column in ("id", "created"), min_width=36 if column == "id" else None)
    for hit in results:
        table.add_row(
            *map(Text, (hit.thread.thread_id, _when(hit.thread, "created_at"), _title(hit.thread), hit.snippet))
        )
    _out().print(table)
    if not results:
        _err().print("no matches")
    if next_cursor:
        _err().print(f"more: --cursor '{next_cursor}'")


def _item_line(item: dict[str, Any]) -> str:
    kind = str(item.get("type"))
    payload = item.get("payload")
    if not isinstance(payload, dict):
        return kind
    inner = payload.get("type")
    label = f"{kind}/{inner}" if isinstance(inner, str) else kind
    text = payload.get("message")
    if not isinstance(text, str) and isinstance(payload.get("content"), list):
        parts = [p.get("text") for p in payload["content"] if isinstance(p, dict)]
        text = " ".join(p for p in parts if isinstance(p, str))
    if isinstance(text, str) and text:
        flat = " ".join(text.split())
        return f"{label}: {flat[:100]}"
    return label


def thread_details(thread: StoredThread) -> None:
    """The thread's fields, then (when loaded) one line per item."""
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, str]] = [
        ("id", thread.thread_id),
        ("name", thread.name or ""),
        ("preview", thread.preview),
        ("created", _when(thread, "created_at")),
        ("updated", _when(thread, "updated_at")),
        ("archived", _when(thread, "archived_at")),
        ("cwd", thread.cwd),
        ("source", _json.dumps_str(thread.source) if not isinstance(thread.source, str) else thread.source),
        ("provider", thread.model_provider),
        ("model", thread.model or ""),
        ("cli version", thread.cli_version),
        ("forked from", thread.forked_from_id or ""),
        ("rollout path", thread.rollout_path or ""),
        ("memory mode", thread.memory_mode),
    ]
    if thread.git_info is not None:
        git = thread.git_info
        rows.append(("git", " ".join(v for v in (git.branch, git.commit_hash, git.repository_url) if v)))
    if thread.token_usage is not None:
        rows.append(("tokens", str(thread.token_usage.total_tokens)))
    for key, value in rows:
        if value:
            table.add_row(key, Text(value))
    _out().print(table)
    if thread.history is not None:
        _out().print(f"\n[bold]history[/bold] ({len(thread.history.items)} items)")
        for index, item in enumerate(thread.history.items):
            _out().print(f"{index:>5}  {_item_line(item)}", markup=False, highlight=False)
