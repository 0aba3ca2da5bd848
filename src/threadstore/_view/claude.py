"""Claude Code transcript entries as transcript steps (see :mod:`threadstore._view.transcript`).

A ``user`` entry is the person's prompt (a ``user`` step), or, when it carries ``tool_result``
blocks, the outputs of earlier tool calls (attached to them by ``tool_use_id``); meta entries
and injected reminders are ``context`` (hidden). An ``assistant`` entry gives ``agent`` text,
``reasoning`` (thinking blocks) and ``tool`` calls (``tool_use``: name and input). A title entry
(``custom-title``, ``ai-title``) is a ``note``, a ``summary`` entry a compaction note, and a
``system`` entry with text an ``error`` when its level says so, else a ``note``. Other entries
(attachments, progress, queue and cost bookkeeping) have no step.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from threadstore import _json
from threadstore._rollout.claude import message_blocks, prompt_text

__all__ = ["Step", "ToolOutput", "entry_steps"]

_SUMMARY_CHARS: Final = 200


class Step:
    """A transcript step an entry gives: the fields of a transcript ``Entry``."""

    __slots__ = ("call_id", "detail", "hidden", "kind", "name", "text")

    def __init__(
        self, kind: str, text: str, *, name: str = "", detail: str = "", call_id: str | None = None, hidden: bool = False
    ) -> None:
        self.kind, self.text, self.name, self.detail, self.call_id, self.hidden = kind, text, name, detail, call_id, hidden


class ToolOutput:
    """The output of an earlier tool call, to attach to it."""

    __slots__ = ("call_id", "output", "status")

    def __init__(self, call_id: str, output: str, status: str | None) -> None:
        self.call_id, self.output, self.status = call_id, output, status


def _flat(text: str, limit: int = _SUMMARY_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _result_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b.get("text") for b in content if isinstance(b, Mapping)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def _tool_use(block: Mapping[str, Any]) -> Step:
    name = block.get("name") if isinstance(block.get("name"), str) else "tool"
    raw = block.get("input")
    detail = _json.dumps_str(raw) if raw is not None else ""
    summary = detail
    if isinstance(raw, Mapping):
        for key in ("command", "file_path", "pattern", "url", "query", "description", "prompt"):
            if isinstance(raw.get(key), str):
                summary = raw[key]
                break
    call_id = block.get("id") if isinstance(block.get("id"), str) else None
    return Step("tool", _flat(summary), name=str(name), detail=detail, call_id=call_id)


def _user(entry: Mapping[str, Any]) -> Iterator[Step | ToolOutput]:
    blocks = message_blocks(entry)
    results = [b for b in blocks if b.get("type") == "tool_result"]
    for block in results:
        call_id = block.get("tool_use_id")
        if isinstance(call_id, str):
            status = "failed" if block.get("is_error") is True else "ok"
            yield ToolOutput(call_id, _result_text(block.get("content")), status)
    if results:
        return
    prompt = prompt_text(entry)
    if prompt is not None:
        yield Step("user", prompt)
        return
    texts = [b["text"] for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str)]
    if any(t.strip() for t in texts):
        yield Step("context", "\n".join(texts), hidden=True)


def _assistant(entry: Mapping[str, Any]) -> Iterator[Step]:
    for block in message_blocks(entry):
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str) and block["text"].strip():
            yield Step("agent", block["text"])
        elif kind == "thinking" and isinstance(block.get("thinking"), str) and block["thinking"].strip():
            yield Step("reasoning", block["thinking"])
        elif kind in ("tool_use", "server_tool_use"):
            yield _tool_use(block)


def entry_steps(entry: Mapping[str, Any]) -> Iterator[Step | ToolOutput]:
    """The steps of one entry, in order (see the module documentation)."""
    kind = entry.get("type")
    if kind == "user":
        yield from _user(entry)
    elif kind == "assistant":
        yield from _assistant(entry)
    elif kind in ("custom-title", "ai-title"):
        title = entry.get("customTitle" if kind == "custom-title" else "aiTitle")
        if isinstance(title, str) and title.strip():
            yield Step("note", f"renamed to “{title.strip()}”")
    elif kind == "summary":
        yield Step("note", "earlier conversation compacted")
    elif kind == "system":
        content = entry.get("content")
        if isinstance(content, str) and content.strip():
            yield Step("error" if entry.get("level") == "error" else "note", _flat(content))
