"""A thread for people in a terminal: a short header, then its transcript (:mod:`threadstore.view`).

User and agent turns are printed in full under a coloured label; reasoning and tool calls are
folded to one line each (the tool, its command or arguments, its outcome and the size of its
output); notes (interrupted turns, rollbacks, renames) and errors are one line. ``show_all``
adds the system and developer prompts and injected context, and unfolds tool calls (input and
output).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Final

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from ..store.types import StoredThread, source_kind
from ..view import Entry, relative_time, short_path, thread_title, user_turns

__all__ = ["render_thread"]

_LABELS: Final = {
    "user": ("user", "bold green"),
    "agent": ("agent", "bold blue"),
    "system": ("system prompt", "bold magenta"),
    "developer": ("developer prompt", "bold magenta"),
    "context": ("context", "bold magenta"),
}
_INDENT: Final = (0, 0, 0, 2)


def _indent(renderable: RenderableType, pad: tuple[int, int, int, int]) -> Padding:
    """``renderable`` indented, without trailing spaces to the console's width."""
    return Padding(renderable, pad, expand=False)


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return ""
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({relative_time(value, now)})"


def _header(thread: StoredThread, entries: Sequence[Entry], now: datetime) -> Iterator[RenderableType]:
    yield Text(thread_title(thread), style="bold")
    rows: list[tuple[str, str]] = [
        ("id", thread.thread_id),
        ("cwd", short_path(thread.cwd)),
        ("created", _when(thread.created_at, now)),
        ("updated", _when(thread.updated_at, now)),
        ("archived", _when(thread.archived_at, now)),
        ("source", source_kind(thread.source)),
        ("model", " / ".join(v for v in (thread.model_provider, thread.model or "") if v)),
        ("forked from", thread.forked_from_id or ""),
    ]
    if thread.git_info is not None:
        git = thread.git_info
        rows.append(("git", " ".join(v for v in (git.branch, (git.commit_hash or "")[:12], git.repository_url) if v)))
    if thread.token_usage is not None and thread.token_usage.total_tokens:
        rows.append(("tokens", f"{thread.token_usage.total_tokens:,}"))
    turns = user_turns(entries)
    rows.append(("turns", f"{turns} user message{'s' if turns != 1 else ''}"))
    for key, value in rows:
        if value:
            line = Text(f"{key:<12}", style="dim")
            line.append(value)
            yield line


def _fold(entry: Entry, width: int) -> Text:
    """One line for a tool call or a reasoning summary."""
    if entry.kind == "reasoning":
        line = Text("· thinking: ", style="dim italic")
        line.append(" ".join(entry.text.split()), style="dim italic")
    else:
        line = Text("▸ ", style="yellow")
        line.append(entry.name, style="yellow")
        if entry.text:
            line.append("  " + entry.text)
        facts = [entry.status] if entry.status else []
        if entry.output:
            count = entry.output.count("\n") + (0 if entry.output.endswith("\n") else 1)
            facts.append(f"{count} line{'s' if count != 1 else ''} of output")
        if facts:
            line.append(f"  ({', '.join(facts)})", style="dim")
    line.truncate(max(1, width - 2), overflow="ellipsis")
    return line


def _unfolded(entry: Entry) -> RenderableType:
    parts: list[RenderableType] = [Text(f"▸ {entry.name}" + (f" ({entry.status})" if entry.status else ""), "yellow")]
    if entry.detail or entry.text:
        parts.append(_indent(Text(entry.detail or entry.text), _INDENT))
    if entry.output:
        parts.append(_indent(Text(entry.output.rstrip("\n"), style="dim"), _INDENT))
    return Group(*parts)


def _entry(entry: Entry, width: int, show_all: bool) -> RenderableType:
    if entry.kind in _LABELS:
        label, style = _LABELS[entry.kind]
        return Group(Text(""), Text(label, style=style), _indent(Text(entry.text.strip("\n")), _INDENT))
    if entry.kind == "tool" and show_all:
        return _indent(_unfolded(entry), _INDENT)
    if entry.kind in ("tool", "reasoning"):
        return _indent(_fold(entry, width), _INDENT)
    if entry.kind == "error":
        return _indent(Text(f"error: {entry.text}", style="red"), _INDENT)
    return _indent(Text(f"— {entry.text} —", style="dim"), _INDENT)


def render_thread(
    console: Console, thread: StoredThread, entries: Sequence[Entry], *, show_all: bool, now: datetime | None = None
) -> None:
    """Print ``thread``'s header and ``entries`` (its transcript) on ``console``."""
    now = now or datetime.now(UTC)
    for line in _header(thread, entries, now):
        console.print(line, soft_wrap=False)
    if not entries:
        console.print(Text("\n(nothing said yet)", style="dim"))
    for entry in entries:
        console.print(_entry(entry, console.width, show_all))
