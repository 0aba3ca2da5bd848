"""Claude Code transcript entries as rollout items, and what a thread's metadata learns from them.

A Claude Code session is a JSONL transcript of *entries* (``user`` and ``assistant`` messages
carrying the Anthropic Messages API ``message``, ``attachment``, ``system``, ``progress``, and
metadata entries such as ``custom-title``, ``ai-title``, ``summary``, ``last-prompt``, ``tag``).
A thread stores each entry as one item of kind :data:`CLAUDE_ENTRY` whose payload *is* the entry,
unchanged: the same keys in the same order, so reading the item back gives the entry exactly
(the rollout line is ``{"timestamp", "type": "claude_entry", "payload": <entry>}``, and an entry's
own ``timestamp`` stays inside the payload).

:func:`fold_entry` is the part of the summary fold (:mod:`threadstore._rollout.summary`) that reads
entries: the title (the last ``customTitle``, else the last ``aiTitle``, else the last ``summary``),
the first prompt (the first user text that is a prompt, not a tool result, meta entry, compact
summary, slash command or hook output), cwd, Claude Code version, git branch and model. A thread
with at least one entry counts as a conversation (it is listed) even before its first prompt.
:func:`entry_texts` gives search the conversational texts of an entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, Protocol

__all__ = [
    "CLAUDE_ENTRY",
    "Fold",
    "entry_item",
    "entry_of",
    "entry_texts",
    "fold_entry",
    "message_blocks",
    "prompt_text",
]

CLAUDE_ENTRY: Final = "claude_entry"
"""The item kind of a Claude Code transcript entry."""

#: Entry fields that name the session's title, by precedence (the first one set wins).
_TITLE_FIELDS: Final = (("custom-title", "customTitle"), ("ai-title", "aiTitle"), ("summary", "summary"))

#: User texts that are not prompts people typed (hook output, IDE notices, interruptions).
_NOT_A_PROMPT: Final = re.compile(
    r"^(?:<local-command-stdout>|<local-command-stderr>|<session-start-hook>|<tick>|<goal>|<system-reminder>|"
    r"\[Request interrupted by user[^\]]*\]|"
    r"\s*<ide_opened_file>[\s\S]*</ide_opened_file>\s*$|"
    r"\s*<ide_selection>[\s\S]*</ide_selection>\s*$)"
)
_COMMAND_NAME: Final = re.compile(r"<command-name>(.*?)</command-name>")


def entry_item(entry: Mapping[str, Any], timestamp: str | None = None) -> dict[str, Any]:
    """The rollout item of ``entry`` (the entry itself is its payload, not copied), written at
    ``timestamp`` when given."""
    if timestamp is None:
        return {"type": CLAUDE_ENTRY, "payload": entry}
    return {"timestamp": timestamp, "type": CLAUDE_ENTRY, "payload": entry}


def entry_of(item: Mapping[str, Any]) -> Any:
    """The entry an item carries, or None when it is not a Claude entry."""
    if item.get("type") != CLAUDE_ENTRY:
        return None
    payload = item.get("payload")
    return payload if isinstance(payload, dict) else None


def message_blocks(entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The content blocks of a ``user`` or ``assistant`` entry's message (a string content is
    one text block)."""
    message = entry.get("message")
    if not isinstance(message, Mapping):
        return []
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [block for block in content if isinstance(block, Mapping)]
    return []


def _texts(entry: Mapping[str, Any]) -> list[str]:
    return [b["text"] for b in message_blocks(entry) if b.get("type") == "text" and isinstance(b.get("text"), str)]


def prompt_text(entry: Mapping[str, Any]) -> str | None:
    """The prompt a person typed, when ``entry`` is one: a ``user`` entry that is not meta, not a
    compact summary and carries no tool result, whose text is not hook output or a notice. A
    slash command reads as ``/name``."""
    if entry.get("type") != "user" or entry.get("isMeta") is True or entry.get("isCompactSummary") is True:
        return None
    blocks = message_blocks(entry)
    if any(b.get("type") == "tool_result" for b in blocks):
        return None
    for text in _texts(entry):
        flat = text.replace("\n", " ").strip()
        if not flat:
            continue
        command = _COMMAND_NAME.search(flat)
        if command:
            name = command.group(1).strip()
            return name if name.startswith("/") else f"/{name}"
        if _NOT_A_PROMPT.match(flat):
            continue
        return text.strip()
    return None


def entry_texts(entry: Mapping[str, Any]) -> list[str]:
    """What full-text search covers of an entry: the prompts and the assistant's text."""
    kind = entry.get("type")
    if kind == "user":
        prompt = prompt_text(entry)
        return [prompt] if prompt else []
    if kind == "assistant":
        return [t for t in (t.strip() for t in _texts(entry)) if t]
    return []


class Fold(Protocol):
    """The attributes of the summary fold (:class:`~threadstore._rollout.summary.ThreadSummary`)
    that entries set."""

    claude: dict[str, Any] | None
    first_user_message: str | None
    preview: str | None
    cwd: str
    cli_version: str
    git: dict[str, Any] | None
    model: str | None
    rollout_name: str | None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def fold_entry(summary: Fold, entry: Mapping[str, Any]) -> None:
    """Fold one entry into ``summary`` (see the module documentation). Its Claude-only state (the
    title sources) lives in ``summary.claude``."""
    state = summary.claude if summary.claude is not None else {}
    summary.claude = state
    kind = entry.get("type")
    if summary.first_user_message is None:
        prompt = prompt_text(entry)
        if prompt:
            summary.first_user_message = prompt
            summary.preview = summary.preview or prompt
    if not summary.cwd:
        summary.cwd = _str(entry.get("cwd")) or ""
    if not summary.cli_version:
        summary.cli_version = _str(entry.get("version")) or ""
    branch = _str(entry.get("gitBranch"))
    if branch and (summary.git or {}).get("branch") != branch:
        summary.git = {**(summary.git or {}), "branch": branch}
    if kind == "assistant":
        message = entry.get("message")
        model = _str(message.get("model")) if isinstance(message, Mapping) else None
        if model and not model.startswith("<"):
            summary.model = model
    for title_kind, field in _TITLE_FIELDS:
        title = _str(entry.get(field))
        if kind == title_kind and title and title.strip():
            state[field] = title.strip()
            summary.rollout_name = next((state[f] for _, f in _TITLE_FIELDS if state.get(f)), None)
