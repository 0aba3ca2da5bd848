"""A thread for people in a terminal: a short header, then its transcript (:mod:`threadstore._view`).

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

from rich.console import Console, RenderableType
from rich.text import Text

from threadstore._contract.types import StoredThread
from threadstore._view import Entry, relative_time, thread_facts, thread_title, user_turns

__all__ = ["render_thread"]

_LABELS: Final = {
    "user": ("user", "bold green"),
    "agent": ("agent", "bold blue"),
    "system": ("system prompt", "bold magenta"),
    "developer": ("developer prompt", "bold magenta"),
    "context": ("context", "bold magenta"),
}


def _indent(console: Console, text: Text, by: int = 2) -> list[Text]:
    """``text`` wrapped to the console's width less ``by`` and indented by ``by`` spaces, as
    lines without trailing spaces."""
    lines: list[Text] = []
    for line in text.wrap(console, max(10, console.width - by)):
        line.rstrip()
        lines.append(Text(" " * by) + line)
    return lines


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return ""
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({relative_time(value, now)})"


def _header(thread: StoredThread, entries: Sequence[Entry], now: datetime) -> Iterator[RenderableType]:
    yield Text(thread_title(thread), style="bold")
    rows = [(fact.label, fact.text) for fact in thread_facts(thread, lambda value: _when(value, now))]
    turns = user_turns(entries)
    rows.append(("turns", f"{turns} user message{'s' if turns != 1 else ''}"))
    for key, value in rows:
        if value:
            line = Text(f"{key:<12}", style="dim")
            line.append(value)
            yield line


def _fold(entry: Entry, width: int) -> Text:
    """One line for a tool call or a reasoning summary; the outcome stays visible however long
    the command is (the command is what gets cut)."""
    room = max(8, width - 2)
    if entry.kind == "reasoning":
        line = Text("· thinking: ", style="dim italic")
        line.append(" ".join(entry.text.split()), style="dim italic")
        line.truncate(room, overflow="ellipsis")
        return line
    facts = [entry.status] if entry.status else []
    if entry.output:
        count = entry.output.count("\n") + (0 if entry.output.endswith("\n") else 1)
        facts.append(f"{count} line{'s' if count != 1 else ''} of output")
    tail = Text(f"  ({', '.join(facts)})", style="dim") if facts else Text("")
    line = Text("▸ ", style="yellow")
    line.append(entry.name, style="yellow")
    if entry.text:
        command = Text("  " + entry.text)
        command.truncate(max(4, room - line.cell_len - tail.cell_len), overflow="ellipsis")
        line.append_text(command)
    line.append_text(tail)
    line.truncate(room, overflow="ellipsis")
    return line


def _unfolded(console: Console, entry: Entry) -> list[Text]:
    head = Text(f"▸ {entry.name}" + (f" ({entry.status})" if entry.status else ""), "yellow")
    lines = _indent(console, head)
    if entry.detail or entry.text:
        lines += _indent(console, Text(entry.detail or entry.text), 4)
    if entry.output:
        lines += _indent(console, Text(entry.output.rstrip("\n"), style="dim"), 4)
    return lines


def _entry(console: Console, entry: Entry, show_all: bool) -> list[Text]:
    if entry.kind in _LABELS:
        label, style = _LABELS[entry.kind]
        return [Text(""), Text(label, style=style), *_indent(console, Text(entry.text.strip("\n")))]
    if entry.kind == "tool" and show_all:
        return _unfolded(console, entry)
    if entry.kind in ("tool", "reasoning"):
        return _indent(console, _fold(entry, console.width))
    if entry.kind == "error":
        return _indent(console, Text(f"error: {entry.text}", style="red"))
    return _indent(console, Text(f"— {entry.text} —", style="dim"))


def render_thread(
    console: Console, thread: StoredThread, entries: Sequence[Entry], *, show_all: bool, now: datetime | None = None
) -> None:
    """Print ``thread``'s header and ``entries`` (its transcript) on ``console``."""
    now = now or datetime.now(UTC)
    for line in _header(thread, entries, now):
        console.print(line, soft_wrap=False)
    if not entries:
        console.print(Text("\n(nothing said yet)", style="dim"))
    previous = ""
    for entry in entries:
        if entry.kind in ("tool", "reasoning") and previous in _LABELS:
            console.print()  # a message's text, then a blank line before what the agent did
        for line in _entry(console, entry, show_all):
            console.print(line, soft_wrap=True)
        previous = entry.kind
