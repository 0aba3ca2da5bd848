"""A thread as a Markdown document (``threadstore export --format markdown``): a title, a few
facts, then the transcript of :mod:`.transcript` — messages in full, tool calls with their input
and output in fenced blocks, reasoning quoted, notes and errors on one line. Hidden entries
(prompts, injected context) are left out unless asked for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from threadstore._contract.types import StoredThread
from threadstore._time import format_rfc3339
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
        ("Thread", f"`{thread.thread_id}`"),
        ("Created", format_rfc3339(thread.created_at)),
        ("Updated", format_rfc3339(thread.updated_at)),
        ("Directory", f"`{thread.cwd}`" if thread.cwd else ""),
        ("Model", " / ".join(v for v in (thread.model_provider, thread.model) if v)),
        ("Forked from", f"`{thread.forked_from_id}`" if thread.forked_from_id else ""),
        ("Archived", format_rfc3339(thread.archived_at) if thread.archived_at else ""),
    ]
    blocks = [f"# {thread_title(thread)}", "\n".join(f"- **{key}:** {value}" for key, value in facts if value)]
    shown = [entry for entry in entries if include_hidden or not entry.hidden]
    blocks.extend(_entry(entry) for entry in shown)
    if not shown:
        blocks.append("*(nothing said yet)*")
    return "\n\n".join(blocks) + "\n"
