"""A thread as a Markdown document (``threadstore export --format markdown``): a title, a few
facts, then the transcript of :mod:`.transcript` — messages in full, tool calls with their input
and output in fenced blocks, reasoning quoted, notes and errors on one line. Hidden entries
(prompts, injected context) are left out unless asked for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from threadstore._contract.types import StoredThread
from threadstore._time import format_rfc3339
from threadstore._view.facts import thread_facts
from threadstore._view.labels import thread_title
from threadstore._view.transcript import Entry

__all__ = ["markdown"]

_HEADINGS: Final = {
    "user": "User",
    "agent": "Agent",
    "system": "System prompt",
    "developer": "Developer prompt",
    "context": "Context",
}


def _fence(text: str) -> str:
    """``text`` in a fenced block whose fence is longer than any backtick run inside it."""
    longest, run = 0, 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text.rstrip(chr(10))}\n{fence}"


def _entry(entry: Entry) -> str:
    if entry.kind in _HEADINGS:
        return f"### {_HEADINGS[entry.kind]}\n\n{entry.text.strip()}"
    if entry.kind == "reasoning":
        return "\n".join("> " + line if line else ">" for line in ["*Thinking:*", *entry.text.strip().splitlines()])
    if entry.kind == "tool":
        head = f"**Tool `{entry.name}`**" + (f" ({entry.status})" if entry.status else "")
        parts = [head]
        if entry.detail or entry.text:
            parts.append(_fence(entry.detail or entry.text))
        if entry.output:
            parts.append(_fence(entry.output))
        return "\n\n".join(parts)
    if entry.kind == "error":
        return f"**Error:** {entry.text}"
    return f"*{entry.text}*"


def markdown(thread: StoredThread, entries: Sequence[Entry], *, include_hidden: bool = False) -> str:
    """The Markdown document of ``thread`` with its transcript ``entries``."""
    facts = [
        (fact.label.capitalize(), f"`{fact.text}`" if fact.literal else fact.text)
        for fact in thread_facts(thread, format_rfc3339)
    ]
    blocks = [f"# {thread_title(thread)}", "\n".join(f"- **{key}:** {value}" for key, value in facts if value)]
    shown = [entry for entry in entries if include_hidden or not entry.hidden]
    blocks.extend(_entry(entry) for entry in shown)
    if not shown:
        blocks.append("*(nothing said yet)*")
    return "\n\n".join(blocks) + "\n"
