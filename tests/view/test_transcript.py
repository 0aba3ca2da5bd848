"""Transcripts: what a person reads of a thread, from real Codex rollouts and from every item
shape the transcript knows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from threadstore import items
from threadstore._view import transcript, user_turns

from ..fixtures import CODEX_HOME_0125, CODEX_HOME_0169, FULL_TURN_ROLLOUT


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def rollout(home: Path, thread_id: str) -> list[dict[str, Any]]:
    (path,) = home.glob(f"sessions/*/*/*/rollout-*-{thread_id}.jsonl")
    return load(path)


def test_codex_0125_thread_reads_as_turns_and_a_rename() -> None:
    entries = transcript(rollout(CODEX_HOME_0125, "01a211bf-81da-7c93-9c38-b2117fbac6d3"))
    assert [(e.kind, e.text) for e in entries] == [
        ("user", "plan the storage layer"),
        ("agent", "echo: plan the storage layer"),
        ("user", "add a sqlite index"),
        ("agent", "echo: add a sqlite index"),
        ("user", "write the tests"),
        ("agent", "echo: write the tests"),
        ("note", "renamed to “Storage work”"),
    ]
    assert user_turns(entries) == 3


def test_hidden_prompts_only_when_asked() -> None:
    history = rollout(CODEX_HOME_0125, "01a211bf-81da-7c93-9c38-b2117fbac6d3")
    shown = transcript(history, include_hidden=True)
    kinds = [e.kind for e in shown]
    assert kinds[0] == "system"
    assert shown[0].text.startswith("You are a coding agent")
    assert "developer" in kinds
    assert "context" in kinds  # the <environment_context> message
    assert all(e.hidden for e in shown if e.kind in ("system", "developer", "context"))
    assert [e for e in shown if not e.hidden] == transcript(history)


def test_codex_0169_item_completed_events_are_turns() -> None:
    (path,) = CODEX_HOME_0169.glob("sessions/*/*/*/rollout-*-01a211bf-a202-72e0-abc9-a87cf784d36a.jsonl")
    entries = transcript(load(path))
    assert [(e.kind, e.text) for e in entries][:2] == [
        ("user", "plan the storage layer"),
        ("agent", "echo: plan the storage layer"),
    ]
    assert user_turns(entries) == 3
    assert sum(1 for e in entries if e.kind == "agent") == 3  # not doubled by the response items


def test_tool_calls_carry_their_output_and_reasoning_is_kept() -> None:
    entries = transcript(load(FULL_TURN_ROLLOUT))
    tools = [e for e in entries if e.kind == "tool"]
    assert len(tools) == 5
    assert all(t.output for t in tools)  # every function_call_output found its call
    assert tools[0].name.startswith("mcp__")
    assert sum(1 for e in entries if e.kind == "reasoning") == 6
    assert user_turns(entries) == 1


def test_every_item_shape() -> None:
    history = [
        items.session_meta("01a211bf-81da-7c93-9c38-b2117fbac6d3", timestamp="2026-11-25T08:08:13.000Z", cwd="/w"),
        items.user_message("list the files"),
        items.response_item(
            "function_call", name="shell", arguments=json.dumps({"command": ["ls", "-la"]}), call_id="c1"
        ),
        items.response_item(
            "function_call_output",
            call_id="c1",
            output=json.dumps({"output": "a\nb\n", "metadata": {"exit_code": 0}}),
        ),
        items.event("exec_command_end", call_id="c1", exit_code=0, aggregated_output="a\nb\n"),
        items.event("exec_command_end", call_id="c2", command=["pytest", "-q"], exit_code=1, aggregated_output="F"),
        items.response_item("custom_tool_call", name="apply_patch", input="*** Begin Patch", call_id="c3"),
        items.response_item("custom_tool_call_output", call_id="c3", output={"content": "done", "success": True}),
        items.response_item("local_shell_call", call_id="c4", status="completed", action={"command": ["echo", "hi"]}),
        items.response_item("web_search_call", action={"type": "search", "query": "uuid v7"}),
        items.event("agent_reasoning", text="thinking about files"),
        items.agent_message("two files"),
        items.turn_aborted("t1"),
        items.thread_rolled_back(1),
        items.compacted("summary"),
        items.event("error", message="model overloaded"),
        {"type": "future_kind", "payload": {"x": 1}},
        items.token_count(None),
    ]
    entries = transcript(history)
    summary = [(e.kind, e.name, e.text, e.status) for e in entries]
    assert summary == [
        ("user", "", "list the files", None),
        ("tool", "shell", "ls -la", "exit 0"),
        ("tool", "shell", "pytest -q", "exit 1"),
        ("tool", "apply_patch", "*** Begin Patch", "ok"),
        ("tool", "shell", "echo hi", None),
        ("tool", "web search", "uuid v7", None),
        ("reasoning", "", "thinking about files", None),
        ("agent", "", "two files", None),
        ("note", "", "turn interrupted", None),
        ("note", "", "rolled back the last 1 turn", None),
        ("note", "", "earlier conversation compacted", None),
        ("error", "", "model overloaded", None),
    ]
    assert entries[1].output == "a\nb\n"
    assert entries[2].output == "F"
    assert entries[3].output == "done"


def test_a_history_without_events_is_read_from_response_messages() -> None:
    history = [
        items.user_response_message("<environment_context>cwd</environment_context>"),
        items.user_response_message("hello"),
        items.response_item("reasoning", summary=[{"type": "summary_text", "text": "greet back"}]),
        items.assistant_message("hi there"),
    ]
    entries = transcript(history)
    assert [(e.kind, e.text) for e in entries] == [
        ("user", "hello"),
        ("reasoning", "greet back"),
        ("agent", "hi there"),
    ]


def test_malformed_items_are_skipped() -> None:
    history: list[dict[str, Any]] = [
        {"type": "event_msg"},
        {"type": "event_msg", "payload": "text"},
        {"type": "response_item", "payload": {"type": "function_call", "arguments": "{not json"}},
        {"type": "response_item", "payload": {"type": "function_call_output", "call_id": 5, "output": None}},
        items.user_message("still here"),
    ]
    entries = transcript(history)
    assert [(e.kind, e.text) for e in entries] == [("tool", "{not json"), ("user", "still here")]
