"""Write a Claude Code session folder (standard library only), for the Claude Agent SDK anchor.

The Claude Code CLI keeps one JSONL transcript per session in
``$CLAUDE_CONFIG_DIR/projects/<project path with every non-alphanumeric character as '-'>/<session
id>.jsonl``. Each line is an entry; conversation entries (``user``, ``assistant``) carry ``uuid``,
``parentUuid`` (the chain the SDK walks), ``sessionId``, ``cwd``, ``gitBranch``, ``version``,
``timestamp`` and the API ``message``. The SDK's ``list_sessions`` reads the head and tail of
every file (first prompt, ``cwd``, ``gitBranch``, first ``timestamp``) and sorts by modification
time; ``get_session_messages`` and ``fork_session`` parse whole files.

A listed session here is the same turn as a thread of :mod:`bench.codex_home` (prompt, thinking,
one tool call and its result, the answer) in Claude's shapes; the long session is the same
alternating messages as the long thread of the other workloads.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .corpus import item_pairs, thread_created, thread_uuid, turn

if TYPE_CHECKING:
    from claude_agent_sdk import SessionStoreEntry

__all__ = ["long_session", "mirrored_turn", "project_dir", "write_sessions"]

_VERSION = "2.0.76"


def project_dir(config_dir: Path, project: Path) -> Path:
    """Where the CLI keeps the sessions of a project directory."""
    return config_dir / "projects" / re.sub(r"[^a-zA-Z0-9]", "-", os.path.realpath(project))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Chain:
    """Entries of one session, each pointing at the one before."""

    def __init__(self, session_id: str, cwd: str, seed: str) -> None:
        self.session_id = session_id
        self.cwd = cwd
        self.seed = seed
        self.parent: str | None = None
        self.lines: list[str] = []

    def add(self, kind: str, message: dict[str, Any], moment: datetime, **extra: Any) -> None:
        entry_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.seed}/{len(self.lines)}"))
        entry = {
            "parentUuid": self.parent,
            "isSidechain": False,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.session_id,
            "version": _VERSION,
            "gitBranch": "main",
            "type": kind,
            "message": message,
            **extra,
            "uuid": entry_id,
            "timestamp": _stamp(moment),
        }
        self.parent = entry_id
        self.lines.append(json.dumps(entry, separators=(",", ":"), ensure_ascii=False))

    def assistant(self, content: list[dict[str, Any]], moment: datetime) -> None:
        message = {
            "id": f"msg_{uuid.uuid5(uuid.NAMESPACE_URL, self.seed + str(len(self.lines))).hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": content,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 900, "cache_read_input_tokens": 0, "output_tokens": 120},
        }
        self.add("assistant", message, moment, requestId=f"req_{len(self.lines):08d}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _session_text(dataset: str, n: int, total: int, cwd: str) -> tuple[str, str, datetime]:
    created = thread_created(n, total)
    sid = thread_uuid(dataset, n, created)
    texts = turn(f"{dataset}/{n}")
    chain = _Chain(sid, cwd, f"{dataset}/{n}")
    tool_id = f"toolu_{sid.replace('-', '')[:24]}"
    step = timedelta(milliseconds=600)
    chain.add("user", {"role": "user", "content": texts.prompt}, created)
    chain.assistant([{"type": "thinking", "thinking": texts.reasoning, "signature": "sig"}], created + step)
    chain.assistant(
        [{"type": "tool_use", "id": tool_id, "name": "Bash", "input": {"command": texts.command}}], created + 2 * step
    )
    result = {"role": "user", "content": [{"tool_use_id": tool_id, "type": "tool_result", "content": texts.output}]}
    chain.add("user", result, created + 3 * step, toolUseResult={"stdout": texts.output, "stderr": ""})
    chain.assistant([{"type": "text", "text": texts.answer}], created + 4 * step)
    return chain.text(), sid, created + 4 * step


def write_sessions(config_dir: Path, project: Path, count: int, *, dataset: str) -> Path:
    """Write ``count`` sessions of one project; return the project's session folder."""
    project.mkdir(parents=True, exist_ok=True)
    folder = project_dir(config_dir, project)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        text, sid, last = _session_text(dataset, n, count, str(project))
        path = folder / f"{sid}.jsonl"
        path.write_text(text)
        os.utime(path, (last.timestamp(), last.timestamp()))
    return folder


def long_session(config_dir: Path, project: Path, count: int) -> tuple[str, list[dict[str, str]]]:
    """Write one session of ``count`` alternating messages; return its id and the messages."""
    project.mkdir(parents=True, exist_ok=True)
    folder = project_dir(config_dir, project)
    folder.mkdir(parents=True, exist_ok=True)
    created = thread_created(0, 1)
    sid = thread_uuid("long", count, created)
    chain = _Chain(sid, str(project), f"long/{count}")
    messages = [{"role": role, "content": text} for role, text in item_pairs(count)]
    for k, message in enumerate(messages):
        moment = created + timedelta(milliseconds=k)
        if message["role"] == "user":
            chain.add("user", dict(message), moment)
        else:
            chain.assistant([{"type": "text", "text": message["content"]}], moment)
    (folder / f"{sid}.jsonl").write_text(chain.text())
    return sid, messages


def mirrored_turn(session_id: str, cwd: str, n: int) -> list[SessionStoreEntry]:
    """The entries Claude Code mirrors to a session store for turn ``n`` of a session (what
    ``SessionStore.append`` receives once per turn): queue bookkeeping, the prompt, the context
    attachments of the turn, the thinking, one tool call and its result, the answer and the
    ``last-prompt`` marker; 10 entries, the conversational ones chained by ``parentUuid``."""
    texts = turn(f"mirror/{session_id}/{n}")
    chain = _Chain(session_id, cwd, f"mirror/{session_id}/{n}")
    # The previous turn's answer (its 7th chained entry) is this turn's parent.
    chain.parent = str(uuid.uuid5(uuid.NAMESPACE_URL, f"mirror/{session_id}/{n - 1}/6")) if n else None
    moment = thread_created(0, 1) + timedelta(seconds=30 * n)
    step = timedelta(milliseconds=600)
    tool_id = f"toolu_{uuid.uuid5(uuid.NAMESPACE_URL, chain.seed).hex[:24]}"
    chain.add("user", {"role": "user", "content": texts.prompt}, moment, promptSource="sdk")
    chain.add("attachment", {"role": "user", "content": []}, moment, attachment={"type": "date", "date": "2026-03-01"})
    chain.add("attachment", {"role": "user", "content": []}, moment, attachment={"type": "session_context"})
    chain.assistant([{"type": "thinking", "thinking": texts.reasoning, "signature": "sig"}], moment + step)
    chain.assistant(
        [{"type": "tool_use", "id": tool_id, "name": "Bash", "input": {"command": texts.command}}], moment + 2 * step
    )
    result = {"role": "user", "content": [{"tool_use_id": tool_id, "type": "tool_result", "content": texts.output}]}
    chain.add("user", result, moment + 3 * step, toolUseResult={"stdout": texts.output, "stderr": ""})
    chain.assistant([{"type": "text", "text": texts.answer}], moment + 4 * step)
    entries: list[dict[str, Any]] = [json.loads(line) for line in chain.lines]
    queue = {"type": "queue-operation", "operation": "enqueue", "timestamp": _stamp(moment), "sessionId": session_id}
    last = {"type": "last-prompt", "lastPrompt": texts.prompt, "sessionId": session_id}
    dequeue = {**queue, "operation": "dequeue"}
    # The SDK's entry type names only ``type``, ``uuid`` and ``timestamp``; every other key of an
    # entry is JSON passed through, which a TypedDict cannot spell.
    return cast("list[SessionStoreEntry]", [queue, dequeue, *entries, last])
