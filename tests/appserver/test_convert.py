"""The converters: stored threads and rollout items as v2 objects."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from threadstore import ReadThreadParams
from threadstore._appserver.convert import (
    build_turns,
    source_json,
    thread_json,
    token_usage_json,
    user_input_items,
)
from threadstore._appserver.errors import INVALID_PARAMS, RpcError
from threadstore._appserver.framing import DecodeError, Notification, Request, Response, decode, encode
from threadstore._backends.local import LocalThreadStore
from threadstore._contract.types import GitInfo, StoredThread
from threadstore._rollout.items import (
    agent_message,
    event,
    task_complete,
    task_started,
    thread_rolled_back,
    turn_aborted,
    user_message,
    user_response_message,
)


@pytest.mark.parametrize("key", ["A", "B", "C", "D", "E"])
async def test_codex_home_threads_convert_like_codex_thread_read(
    codex_home: tuple[Path, dict[str, Any]], key: str
) -> None:
    home, expected = codex_home
    want = expected["reads"][key]["thread"]
    store = LocalThreadStore(home)
    try:
        stored = await store.read_thread(
            ReadThreadParams(expected["ids"][key], include_archived=True, include_history=True)
        )
    finally:
        await store.close()
    assert stored.history is not None
    got = thread_json(stored, turns=build_turns(stored.history.items))
    # Status is the server's view (Codex had A-C and E loaded); the path is absolute here.
    assert str(got.pop("path")).endswith(want.pop("path"))
    got.pop("status")
    want.pop("status")
    # The store derives updatedAt from the file (Codex from its clock a moment later).
    assert abs(got.pop("updatedAt") - want.pop("updatedAt")) <= 1
    assert got == want


def _turn_texts(turns: list[dict[str, Any]]) -> list[tuple[str, list[str], list[str]]]:
    out = []
    for turn in turns:
        users = [c["text"] for i in turn["items"] if i["type"] == "userMessage" for c in i["content"]]
        agents = [i["text"] for i in turn["items"] if i["type"] == "agentMessage"]
        out.append((turn["status"], users, agents))
    return out


def _turn(turn_id: str, text: str, *, end: str = "complete") -> list[dict[str, Any]]:
    items = [task_started(turn_id, started_at=100), user_response_message(text), user_message(text)]
    if end == "complete":
        items += [agent_message(f"echo: {text}"), task_complete(turn_id, f"echo: {text}")]
    elif end == "aborted":
        items.append(turn_aborted(turn_id))
    return items


def test_rollback_markers_drop_turns() -> None:
    items = [*_turn("t1", "one"), *_turn("t2", "two"), thread_rolled_back(1), *_turn("t3", "three")]
    turns = build_turns(items)
    assert [t["id"] for t in turns] == ["t1", "t3"]
    assert _turn_texts(turns) == [
        ("completed", ["one"], ["echo: one"]),
        ("completed", ["three"], ["echo: three"]),
    ]


def test_aborted_open_and_failed_turns() -> None:
    failing = [
        task_started("t3", started_at=1),
        user_message("three"),
        event("error", message="boom", codex_error_info="server_overloaded"),
        task_complete("t3", last_agent_message=None),
    ]
    items = [*_turn("t1", "one", end="aborted"), *failing, *_turn("t4", "four", end="open")]
    turns = build_turns(items)
    assert [(t["id"], t["status"]) for t in turns] == [("t1", "interrupted"), ("t3", "failed"), ("t4", "interrupted")]
    assert turns[1]["error"]["message"] == "boom"
    assert turns[1]["error"]["codexErrorInfo"] == "server_overloaded"
    # The turn a loaded thread is running is still in progress.
    assert build_turns(items, active_turn_id="t4")[-1]["status"] == "inProgress"


def test_rollback_failure_does_not_fail_the_turn() -> None:
    items = [*_turn("t1", "one")]
    items.insert(-1, event("error", message="nope", codex_error_info="thread_rollback_failed"))
    assert build_turns(items)[0]["status"] == "completed"


def test_history_without_turn_events_gets_implicit_turns() -> None:
    items = [user_message("a"), agent_message("b"), user_message("c")]
    turns = build_turns(items)
    assert [t["id"] for t in turns] == ["turn-1", "turn-2"]
    assert [i["id"] for t in turns for i in t["items"]] == ["item-1", "item-2", "item-3"]


def test_user_message_with_images() -> None:
    items = [
        task_started("t"),
        event("user_message", message="look", images=["https://x/y.png"], local_images=["/a.png"]),
    ]
    content = build_turns(items, active_turn_id="t")[0]["items"][0]["content"]
    assert content == [
        {"type": "text", "text": "look", "text_elements": []},
        {"type": "image", "url": "https://x/y.png"},
        {"type": "localImage", "path": "/a.png"},
    ]


def test_thread_json_fields() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    stored = StoredThread(
        thread_id="01a211bf-81da-7c93-9c38-b2117fbac6d3",
        created_at=now,
        updated_at=now,
        source={"subagent": "review"},
        git_info=GitInfo(commit_hash="abc", branch=None, repository_url="u"),
    )
    shown = thread_json(stored, status="active")
    assert shown["createdAt"] == int(now.timestamp())
    assert shown["status"] == {"type": "active", "activeFlags": []}
    assert shown["source"] == {"subAgent": "review"}
    assert shown["gitInfo"] == {"sha": "abc", "branch": None, "originUrl": "u"}
    assert thread_json(stored, ephemeral=True)["path"] is None
    assert source_json("mcp") == "appServer"


def test_token_usage_and_user_input() -> None:
    usage = token_usage_json(
        {
            "total_token_usage": {"input_tokens": 3, "total_tokens": 5},
            "last_token_usage": None,
            "model_context_window": 9,
        }
    )
    assert usage["total"] == {
        "totalTokens": 5,
        "inputTokens": 3,
        "cachedInputTokens": 0,
        "outputTokens": 0,
        "reasoningOutputTokens": 0,
    }
    assert usage["last"]["totalTokens"] == 0
    assert usage["modelContextWindow"] == 9
    assert user_input_items([{"type": "text", "text": "hi"}, {"type": "image", "url": "u"}]) == [
        {"type": "text", "text": "hi"},
        {"type": "image", "image_url": "u"},
    ]
    for bad in ([], "hi", [{"type": "skill"}], [{"type": "text"}]):
        with pytest.raises(RpcError) as info:
            user_input_items(bad)
        assert info.value.code == INVALID_PARAMS


def test_framing() -> None:
    assert decode(b'{"id":1,"method":"m","params":{"a":1}}\n') == Request(1, "m", {"a": 1})
    assert decode('{"method":"initialized"}') == Notification("initialized", None)
    assert decode('{"id":"x","result":{}}') == Response("x")
    for line, code in [(b"{", -32700), (b"[1]", -32600), (b'{"id":1}', -32600), (b'{"id":true,"method":"m"}', -32600)]:
        with pytest.raises(DecodeError) as info:
            decode(line)
        assert info.value.code == code
    # Text with a line or paragraph separator stays on one line.
    line = encode({"method": "m", "params": {"text": "a\nb\u2028c"}})
    assert line.count(b"\n") == 1
    assert line.endswith(b"\n")
