"""The turn builder's rules for rollouts of every era (``threadstore._rollout.turns``).

The fixture homes check the builder against Codex's own answers (``tests/appserver``); these
tests pin the individual rules on small synthetic histories.
"""

from __future__ import annotations

from typing import Any

from threadstore._rollout.items import agent_message, event, task_complete, task_started, user_message
from threadstore._rollout.turns import build_turns


def _completed(turn_id: str, item: dict[str, Any], started: int | None = None, done: int | None = None) -> Any:
    return event(
        "item_completed", thread_id="t", turn_id=turn_id, item=item, started_at_ms=started, completed_at_ms=done
    )


def _paginated_start(turn_id: str) -> Any:
    return event("task_started", turn_id=turn_id, root_turn_id=turn_id, started_at=7)


def test_item_completed_items_keep_their_ids_and_timing() -> None:
    items = [
        _paginated_start("t1"),
        event("thread_settings_applied", thread_id="t", thread_settings={}),
        _completed("t1", {"type": "UserMessage", "id": "u1", "content": [{"type": "text", "text": "hi"}]}, 5, 6),
        _completed("t1", {"type": "Reasoning", "id": "r1", "summary_text": ["think"], "raw_content": []}),
        _completed(
            "t1",
            {
                "type": "AgentMessage",
                "id": "a1",
                "content": [{"type": "Text", "text": "he"}, {"type": "Text", "text": "llo"}],
                "phase": "final_answer",
            },
            8,
            9,
        ),
        _completed("t1", {"type": "Plan", "id": "p1", "text": "1. do"}),
        _completed("t1", {"type": "SomethingNew", "id": "x1"}),
        event("token_count", info=None),
        task_complete("t1", "hello", completed_at=10, duration_ms=3),
    ]
    assert build_turns(items) == [
        {
            "id": "t1",
            "rootTurnId": "t1",
            "items": [
                {
                    "type": "userMessage",
                    "id": "u1",
                    "clientId": None,
                    "content": [{"type": "text", "text": "hi", "text_elements": []}],
                    "startedAtMs": 5,
                    "completedAtMs": 6,
                },
                {"type": "reasoning", "id": "r1", "summary": ["think"], "content": []},
                {
                    "type": "agentMessage",
                    "id": "a1",
                    "text": "hello",
                    "phase": "final_answer",
                    "memoryCitation": None,
                    "moderation": None,
                    "delivery": None,
                    "questions": None,
                    "startedAtMs": 8,
                    "completedAtMs": 9,
                },
                {"type": "plan", "id": "p1", "text": "1. do"},
            ],
            "itemsView": "full",
            "status": "completed",
            "error": None,
            "startedAt": 7,
            "completedAt": 10,
            "durationMs": 3,
        }
    ]


def test_item_completed_is_authoritative_over_legacy_mirrors() -> None:
    # A turn that has both records of its messages shows each message once.
    items = [
        task_started("t1"),
        user_message("hi"),
        _completed("t1", {"type": "UserMessage", "id": "u1", "content": [{"type": "text", "text": "hi"}]}),
        agent_message("hello"),
        _completed("t1", {"type": "AgentMessage", "id": "a1", "content": [{"type": "Text", "text": "hello"}]}),
        event("agent_reasoning", text="only a legacy record of this one"),
        task_complete("t1", "hello"),
        # The next turn has legacy records only: they are shown, numbered among the shown items.
        task_started("t2"),
        user_message("again"),
        agent_message("echo"),
        task_complete("t2", "echo"),
    ]
    turns = build_turns(items)
    assert [[(i["type"], i["id"]) for i in t["items"]] for t in turns] == [
        [("userMessage", "u1"), ("agentMessage", "a1"), ("reasoning", "item-1")],
        [("userMessage", "item-2"), ("agentMessage", "item-3")],
    ]


def test_legacy_turns_report_the_legacy_field_set() -> None:
    turns = build_turns(
        [task_started("t1", started_at=1), user_message("hi"), agent_message("yo"), task_complete("t1", "yo")]
    )
    assert set(turns[0]) == {"id", "items", "status", "error", "startedAt", "completedAt", "durationMs"}
    assert turns[0]["items"] == [
        {"type": "userMessage", "id": "item-1", "content": [{"type": "text", "text": "hi", "text_elements": []}]},
        {"type": "agentMessage", "id": "item-2", "text": "yo", "phase": None, "memoryCitation": None},
    ]


def test_events_that_carry_no_item_open_no_turn() -> None:
    items = [
        event("thread_settings_applied", thread_id="t", thread_settings={}),
        event("token_count", info=None),
        {"type": "world_state", "payload": {"full": True}},
        {"type": "token_usage_record", "payload": {"usage": {}}},
    ]
    assert build_turns(items) == []
