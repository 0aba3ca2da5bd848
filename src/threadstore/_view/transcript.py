"""A thread's items as a transcript people read: the one rendering shared by ``threadstore show``,
the web page and any other reader.

:func:`transcript` turns rollout items into :class:`Entry` values in replay order:

* ``user`` and ``agent`` turns. Codex writes each message twice (an ``event_msg`` for people:
  ``user_message``/``agent_message``, or in newer builds ``item_completed`` with a
  ``UserMessage``/``AgentMessage``; and a ``response_item`` for the model); when a history has
  the events, they are used and the response messages are not repeated; a history without them (written by other programs) is read
  from its response messages instead;
* ``reasoning`` summaries and ``tool`` calls, which readers show folded: a tool entry carries its
  name, a one-line ``text`` (the command or the arguments), the full ``detail`` and the call's
  ``output`` and ``status`` (matched by ``call_id``; the output may arrive later in the history);
* ``system`` (the base instructions), ``developer`` messages and injected ``context`` (environment
  context, AGENTS.md instructions...): marked ``hidden``, left out unless asked for;
* the steps of Claude Code transcript entries (:mod:`threadstore._view.claude`);
* ``note`` entries for what happened to the conversation (an interrupted turn, a rollback, a
  compaction, a rename) and ``error`` entries for turn errors.

Items the transcript has no use for (token counts, turn boundaries, turn contexts) are skipped;
unknown kinds are skipped too. History edits (``thread_items_popped``, ``thread_history_cleared``)
are applied: what they removed is not shown, and each leaves a note. A response message may be
an "easy" one (``{"role", "content"}``, content a string), as the OpenAI Agents SDK stores user
input. The function never raises on malformed items.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from threadstore import _json
from threadstore._rollout.claude import CLAUDE_ENTRY
from threadstore._rollout.edits import HISTORY_CLEARED, ITEMS_POPPED
from threadstore._rollout.items import instructions_text
from threadstore._rollout.messages import CONTEXTUAL_PREFIXES, is_message, message_text, user_event_text
from threadstore._rollout.rollback import kept_positions
from threadstore._view.claude import ToolOutput, entry_steps

__all__ = ["Entry", "EntryKind", "transcript", "user_turns"]

EntryKind = Literal["user", "agent", "reasoning", "tool", "system", "developer", "context", "note", "error"]

_TOOL_CALLS: Final = frozenset({"function_call", "custom_tool_call", "local_shell_call", "web_search_call"})
_TOOL_OUTPUTS: Final = frozenset({"function_call_output", "custom_tool_call_output"})
_TOOL_END_EVENTS: Final = frozenset({"exec_command_end", "patch_apply_end", "mcp_tool_call_end", "web_search_end"})
_SUMMARY_CHARS: Final = 200


@dataclass(frozen=True, slots=True)
class Entry:
    """One step of a transcript (see the module documentation)."""

    kind: EntryKind
    text: str
    name: str = ""
    """A tool's name."""
    detail: str = ""
    """A tool call's full input (arguments, patch, query)."""
    output: str | None = None
    """A tool call's output, once known."""
    status: str | None = None
    """A tool call's outcome in a few words (``exit 0``, ``failed``...)."""
    call_id: str | None = None
    hidden: bool = False
    """True for system and developer prompts and injected context."""


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _flat(text: str, limit: int = _SUMMARY_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _command(value: object) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return shlex.join(value)
    return _str(value)


def _arguments(raw: object) -> tuple[str, str]:
    """(one-line summary, full text) of a function call's arguments (a JSON string)."""
    text = _str(raw)
    try:
        parsed = _json.loads(text) if text else None
    except ValueError:
        return _flat(text), text
    if isinstance(parsed, Mapping):
        for key in ("cmd", "command"):
            if key in parsed:
                return _flat(_command(parsed[key])), _json.dumps_str(parsed)
        pairs = " ".join(f"{k}={_json.dumps_str(v)}" for k, v in parsed.items())
        return _flat(pairs), _json.dumps_str(parsed)
    return _flat(text), text


def _output(value: object) -> tuple[str, str | None]:
    """(output text, status) of a tool output in any of its shapes: a string (sometimes the JSON
    of ``{"output", "metadata": {"exit_code"}}``), a list of content parts, or ``{content,
    success}``."""
    if isinstance(value, list):
        parts = [p.get("text") for p in value if isinstance(p, Mapping)]
        return "\n".join(p for p in parts if isinstance(p, str)), None
    if isinstance(value, Mapping):
        success = value.get("success")
        status = None if success is None else ("ok" if success else "failed")
        return _str(value.get("content")), status
    text = _str(value)
    if text.startswith("{"):
        try:
            parsed = _json.loads(text)
        except ValueError:
            return text, None
        if isinstance(parsed, Mapping) and isinstance(parsed.get("output"), str):
            meta = parsed.get("metadata")
            code = meta.get("exit_code") if isinstance(meta, Mapping) else None
            return parsed["output"], f"exit {code}" if isinstance(code, int) else None
    return text, None


def _tool_call(payload: Mapping[str, Any]) -> Entry:
    kind = payload.get("type")
    call_id = payload.get("call_id") if isinstance(payload.get("call_id"), str) else payload.get("id")
    cid = call_id if isinstance(call_id, str) else None
    if kind == "function_call":
        summary, full = _arguments(payload.get("arguments"))
        return Entry("tool", summary, name=_str(payload.get("name")) or "tool", detail=full, call_id=cid)
    if kind == "custom_tool_call":
        text = _str(payload.get("input"))
        return Entry("tool", _flat(text), name=_str(payload.get("name")) or "tool", detail=text, call_id=cid)
    action = payload.get("action")
    action = action if isinstance(action, Mapping) else {}
    if kind == "local_shell_call":
        command = _command(action.get("command"))
        return Entry("tool", _flat(command), name="shell", detail=command, call_id=cid)
    query = _str(action.get("query")) or _str(action.get("url"))
    return Entry("tool", _flat(query), name="web search", detail=query, call_id=cid)


def _tool_end(payload: Mapping[str, Any]) -> Entry:
    """A tool call known only from its ``*_end`` event (extended persistence, no response item)."""
    kind = payload.get("type")
    cid = payload.get("call_id") if isinstance(payload.get("call_id"), str) else None
    if kind == "exec_command_end":
        command = _command(payload.get("command"))
        code = payload.get("exit_code")
        output = _str(payload.get("aggregated_output")) or _str(payload.get("stdout"))
        status = f"exit {code}" if isinstance(code, int) else None
        return Entry("tool", _flat(command), name="shell", detail=command, output=output, status=status, call_id=cid)
    if kind == "patch_apply_end":
        success = payload.get("success")
        status = None if success is None else ("ok" if success else "failed")
        patch_output = _str(payload.get("stdout")) + _str(payload.get("stderr"))
        return Entry("tool", "apply patch", name="apply_patch", output=patch_output, status=status, call_id=cid)
    if kind == "mcp_tool_call_end":
        invocation = payload.get("invocation")
        invocation = invocation if isinstance(invocation, Mapping) else {}
        name = "/".join(p for p in (_str(invocation.get("server")), _str(invocation.get("tool"))) if p)
        arguments = _json.dumps_str(invocation.get("arguments")) if "arguments" in invocation else ""
        result = payload.get("result")
        shown = _json.dumps_str(result) if result is not None else None
        return Entry("tool", _flat(arguments), name=name or "mcp tool", detail=arguments, output=shown, call_id=cid)
    query = _str(payload.get("query"))
    return Entry("tool", _flat(query), name="web search", detail=query, call_id=cid)


def _note(payload: Mapping[str, Any]) -> Entry | None:
    kind = payload.get("type")
    if kind == "turn_aborted":
        reason = _str(payload.get("reason")) or "interrupted"
        return Entry("note", f"turn {reason}" if reason != "interrupted" else "turn interrupted")
    if kind == "thread_rolled_back":
        n = payload.get("num_turns")
        count = n if isinstance(n, int) and not isinstance(n, bool) else 0
        return Entry("note", f"rolled back the last {count} turn{'s' if count != 1 else ''}")
    if kind == "context_compacted":
        return Entry("note", "earlier conversation compacted")
    if kind == ITEMS_POPPED:
        n = payload.get("num_items")
        count = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1
        return Entry("note", f"removed the last {count} item{'s' if count != 1 else ''}")
    if kind == HISTORY_CLEARED:
        return Entry("note", "history cleared")
    if kind == "thread_name_updated":
        name = payload.get("thread_name")
        return Entry("note", f"renamed to “{name}”" if isinstance(name, str) and name else "name cleared")
    if kind in ("error", "stream_error"):
        return Entry("error", _str(payload.get("message")) or "error")
    return None


def _message(payload: Mapping[str, Any], use_events: bool) -> Entry | None:
    role = payload.get("role")
    text = message_text(payload)
    if role in ("system", "developer"):
        return Entry("system" if role == "system" else "developer", text, hidden=True)
    if role == "user":
        if text.strip().startswith(CONTEXTUAL_PREFIXES):
            return Entry("context", text, hidden=True)
        return None if use_events else Entry("user", text)
    if role == "assistant" and not use_events:
        return Entry("agent", text)
    return None


def _reasoning(payload: Mapping[str, Any]) -> str:
    parts = payload.get("summary")
    texts = [p.get("text") for p in parts if isinstance(p, Mapping)] if isinstance(parts, list) else []
    return "\n".join(t for t in texts if isinstance(t, str))


def _agent_event_text(payload: Mapping[str, Any]) -> str | None:
    """The text of an agent-message event: ``agent_message``, or a newer ``item_completed``
    carrying an ``AgentMessage``; else None."""
    kind = payload.get("type")
    if kind == "agent_message":
        return _str(payload.get("message"))
    inner = payload.get("item")
    if kind == "item_completed" and isinstance(inner, Mapping) and inner.get("type") == "AgentMessage":
        parts = inner.get("content")
        texts = [p.get("text") for p in parts if isinstance(p, Mapping)] if isinstance(parts, list) else []
        return "".join(t for t in texts if isinstance(t, str))
    return None


def _has_message_events(items: Sequence[Mapping[str, Any]]) -> bool:
    for item in items:
        payload = item.get("payload")
        if item.get("type") != "event_msg" or not isinstance(payload, Mapping):
            continue
        if _agent_event_text(payload) is not None or user_event_text(item) is not None:
            return True
    return False


class _Builder:
    """Accumulates entries; remembers where each tool call is so its output can be attached."""

    def __init__(self, use_events: bool, include_hidden: bool) -> None:
        self.use_events = use_events
        self.include_hidden = include_hidden
        self.entries: list[Entry] = []
        self.tools: dict[str, int] = {}

    def add(self, entry: Entry | None) -> None:
        if entry is None or (entry.hidden and not self.include_hidden):
            return
        if entry.kind == "tool" and entry.call_id is not None:
            self.tools[entry.call_id] = len(self.entries)
        self.entries.append(entry)

    def attach(self, call_id: object, **changes: Any) -> None:
        index = self.tools.get(call_id) if isinstance(call_id, str) else None
        if index is not None:
            self.entries[index] = dataclasses.replace(self.entries[index], **changes)

    def item(self, kind: object, payload: Mapping[str, Any]) -> None:
        inner = payload.get("type")
        if kind == "session_meta":
            text = instructions_text(payload.get("base_instructions"))
            self.add(Entry("system", text, hidden=True) if text and text.strip() else None)
        elif kind == "response_item" and is_message(payload):
            self.add(_message(payload, self.use_events))
        elif kind == "response_item" and inner == "reasoning" and not self.use_events:
            text = _reasoning(payload)
            self.add(Entry("reasoning", text) if text.strip() else None)
        elif kind == "response_item" and inner in _TOOL_CALLS:
            self.add(_tool_call(payload))
        elif kind == "response_item" and inner in _TOOL_OUTPUTS:
            output, status = _output(payload.get("output"))
            self.attach(payload.get("call_id"), output=output, status=status)
        elif kind == "event_msg":
            self.event(payload)
        elif kind == "compacted":
            self.add(Entry("note", "earlier conversation compacted"))
        elif kind == CLAUDE_ENTRY:
            self.claude(payload)

    def claude(self, entry: Mapping[str, Any]) -> None:
        for step in entry_steps(entry):
            if isinstance(step, ToolOutput):
                self.attach(step.call_id, output=step.output, status=step.status)
            else:
                kind: Any = step.kind
                self.add(Entry(kind, step.text, name=step.name, detail=step.detail, call_id=step.call_id, hidden=step.hidden))

    def event(self, payload: Mapping[str, Any]) -> None:
        inner = payload.get("type")
        agent = _agent_event_text(payload)
        if agent is not None:
            self.add(Entry("agent", agent) if self.use_events else None)
        elif inner == "agent_reasoning":
            text = _str(payload.get("text"))
            self.add(Entry("reasoning", text) if self.use_events and text.strip() else None)
        elif inner in _TOOL_END_EVENTS:
            entry = _tool_end(payload)
            if entry.call_id is None or entry.call_id not in self.tools:
                self.add(entry)
            elif entry.status is not None:
                self.attach(entry.call_id, status=entry.status)
        else:
            user = user_event_text({"type": "event_msg", "payload": payload})
            if user is None:
                self.add(_note(payload))
            elif self.use_events:
                text, images = user
                self.add(Entry("user", text + (" [image]" if images else "")))


def transcript(items: Sequence[Mapping[str, Any]], *, include_hidden: bool = False) -> list[Entry]:
    """The transcript of ``items`` (see the module documentation), hidden entries included only
    when ``include_hidden``."""
    items = [items[position] for position in kept_positions(items, rollbacks=False, keep_markers=True)]
    builder = _Builder(_has_message_events(items), include_hidden)
    for item in items:
        payload = item.get("payload")
        if isinstance(payload, Mapping):
            builder.item(item.get("type"), payload)
    return builder.entries


def user_turns(entries: Sequence[Entry]) -> int:
    """How many user messages a transcript holds."""
    return sum(1 for e in entries if e.kind == "user")
