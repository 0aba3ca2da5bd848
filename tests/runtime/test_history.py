"""Pure history functions: user turns, rollback markers, model history, fork cuts, mid-turn."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures import CODEX_HOME_0125, FULL_TURN_ROLLOUT, MID_TURN_ROLLOUT
from threadstore import items
from threadstore._contract.types import TokenUsage
from threadstore._ids import new_thread_id
from threadstore._runtime.history import (
    apply_rollback_markers,
    ends_mid_turn,
    fork_items,
    is_user_message,
    last_token_usage,
    reconstruct_model_history,
    user_turn_positions,
    user_turn_starts,
)
from threadstore.errors import InvalidRequest

from .support import kinds, read_rollout

Item = dict[str, Any]


def turn(text: str, *, complete: bool = True, turn_id: str | None = None) -> list[Item]:
    tid = turn_id or new_thread_id()
    out = [
        items.task_started(tid),
        items.turn_context(cwd="/r", model="m", turn_id=tid),
        items.user_response_message(text),
        items.user_message(text),
    ]
    if complete:
        out += [items.agent_message(f"echo: {text}"), items.assistant_message(f"echo: {text}")]
        out += [
            items.token_count({"input_tokens": len(text), "total_tokens": len(text)}),
            items.task_complete(tid, text),
        ]
    return out


def meta(thread_id: str | None = None) -> Item:
    return items.session_meta(thread_id or new_thread_id(), timestamp="2025-01-01T00:00:00Z", cwd="/r")


def texts(history: list[dict[str, Any]]) -> list[str]:
    return [part["text"] for p in history for part in p.get("content", []) if "text" in part]


def test_contextual_user_messages_are_not_turns() -> None:
    context = items.user_response_message("<environment_context>\n  <cwd>/r</cwd>\n</environment_context>")
    agents = items.user_response_message("# AGENTS.md instructions for /r\n...")
    real = items.user_response_message("do the thing")
    assert not is_user_message(context["payload"])
    assert not is_user_message(agents["payload"])
    assert is_user_message(real["payload"])
    assert user_turn_positions([meta(), context, agents, real]) == [3]


def test_rollback_markers_pop_turn_positions() -> None:
    history = [meta(), *turn("a"), *turn("b"), items.thread_rolled_back(1), *turn("c")]
    positions = user_turn_positions(history)
    assert [history[p]["payload"]["content"][0]["text"] for p in positions] == ["a", "c"]
    assert user_turn_starts(history) == [1, 18]
    applied = apply_rollback_markers(history)
    assert [i["payload"]["message"] for i in applied if items.is_event(i, "user_message")] == ["a", "c"]
    assert not any(items.is_event(i, "thread_rolled_back") for i in applied)
    # rolling back more turns than exist drops them all
    assert user_turn_positions([*history, items.thread_rolled_back(10)]) == []


def test_reconstruct_model_history_honours_rollback() -> None:
    history = [meta(), *turn("a"), *turn("b"), items.thread_rolled_back(1), *turn("c")]
    assert texts(reconstruct_model_history(history)) == ["a", "echo: a", "c", "echo: c"]


def test_reconstruct_model_history_honours_compaction() -> None:
    replacement = [
        items.user_response_message("a")["payload"],
        items.assistant_message("summary of a and b")["payload"],
    ]
    history = [meta(), *turn("a"), *turn("b"), items.compacted("summary", replacement), *turn("c")]
    assert texts(reconstruct_model_history(history)) == ["a", "summary of a and b", "c", "echo: c"]
    # a rollback after compaction drops turns of the rebuilt history
    assert texts(reconstruct_model_history([*history, items.thread_rolled_back(1)])) == ["a", "summary of a and b"]
    # legacy compaction (no replacement history): user messages kept, summary appended
    legacy = [meta(), *turn("a"), *turn("b"), items.compacted("the summary"), *turn("c")]
    assert texts(reconstruct_model_history(legacy)) == ["a", "b", "the summary", "c", "echo: c"]


def test_fork_cut_before_nth_user_message_starts_at_turn_start() -> None:
    history = [meta(), *turn("a"), *turn("b"), *turn("c")]
    cut = fork_items(history, 1)
    assert cut == history[:9]  # session_meta + first turn; nothing of turn b
    assert fork_items(history, 0) == history[:1]
    assert fork_items(history, 3) == history  # out of range: the whole committed history
    assert fork_items(history, None) == history
    with pytest.raises(InvalidRequest):
        fork_items(history, -1)


def test_fork_of_thread_ending_mid_turn() -> None:
    active = new_thread_id()
    history = [meta(), *turn("a"), *turn("b", complete=False, turn_id=active)]
    found = ends_mid_turn(history)
    assert found is not None
    assert found.turn_id == active
    assert found.start_index == 9
    whole = fork_items(history, None)
    assert whole[:-1] == history
    assert whole[-1] == items.turn_aborted(active, "interrupted")
    # out-of-range n with an unfinished turn: cut before the active turn
    assert fork_items(history, 5) == history[:9]


def test_synthetic_history_without_turn_events() -> None:
    history = [meta(), items.user_response_message("a"), items.assistant_message("x")]
    found = ends_mid_turn(history)
    assert found is not None
    assert found.turn_id is None
    assert found.start_index == 1
    assert ends_mid_turn([*history, items.event("turn_complete", turn_id=None)]) is None
    assert ends_mid_turn([meta()]) is None


def test_last_token_usage_after_rollback() -> None:
    history = [meta(), *turn("aa"), *turn("bbbb")]
    assert last_token_usage(history) == TokenUsage(input_tokens=4, total_tokens=4)
    assert last_token_usage([*history, items.thread_rolled_back(1)]) == TokenUsage(input_tokens=2, total_tokens=2)


def test_real_rollout_ending_mid_turn_gets_interrupted_boundary() -> None:
    history = read_rollout(MID_TURN_ROLLOUT)
    found = ends_mid_turn(history)
    assert found is not None
    assert found.turn_id == "019c8a70-ebe7-7e83-92b2-f77ddd49c5f9"
    forked = fork_items(history, None)
    assert forked[: len(history)] == history
    boundary = forked[-1]
    assert boundary["type"] == "event_msg"
    assert boundary["payload"]["type"] == "turn_aborted"
    assert boundary["payload"]["turn_id"] == "019c8a70-ebe7-7e83-92b2-f77ddd49c5f9"
    assert boundary["payload"]["reason"] == "interrupted"


def test_real_complete_rollout() -> None:
    history = read_rollout(FULL_TURN_ROLLOUT)
    assert ends_mid_turn(history) is None
    assert fork_items(history, None) == history
    model = reconstruct_model_history(history)
    assert len(model) == sum(1 for i in history if i["type"] == "response_item")
    assert model[-1]["role"] == "assistant"


def test_codex_home_rollback_thread() -> None:
    path = next((CODEX_HOME_0125 / "sessions").rglob("*01a211bf-8341-7ed1-961c-fbeaabf490cf.jsonl"))
    history = read_rollout(path)
    positions = user_turn_positions(history)
    assert [history[p]["payload"]["content"][0]["text"] for p in positions] == ["first idea about caching"]
    model = reconstruct_model_history(history)
    assert "second idea, discard me" not in texts(model)
    assert texts(model)[-2:] == ["first idea about caching", "echo: first idea about caching"]
    # the thread's fork at its second turn keeps the first whole turn
    first_turn = fork_items(history, 0)
    assert kinds(first_turn) == ["session_meta"]


def test_codex_home_fork_thread_counts_parent_turns() -> None:
    path = next((CODEX_HOME_0125 / "sessions").rglob("*01a211bf-843d-7383-9609-d097f793582a.jsonl"))
    history = read_rollout(path)
    positions = user_turn_positions(history)
    assert [history[p]["payload"]["content"][0]["text"] for p in positions] == [
        "plan the storage layer",
        "add a sqlite index",
        "write the tests",
        "continue on the fork",
    ]
    cut = fork_items(history, 3)
    assert items.is_event(cut[-1], "thread_name_updated")
