"""``threadstore fork``: whole threads, cuts, interrupted sources and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from threadstore import AppendThreadItemsParams, CreateThreadParams, ThreadStore, items, new_thread_id

from .helpers import chat, invoke, user_texts, with_store


@pytest.fixture
def url(tmp_path: Path) -> str:
    (tmp_path / "home").mkdir()
    return f"local:{tmp_path / 'home'}"


def history(url: str, thread_id: str) -> list[dict[str, object]]:
    code, out, err = invoke(url, "show", thread_id, "--history", "--json")
    assert code == 0, err
    result: list[dict[str, object]] = json.loads(out)["history"]
    return result


def test_fork_whole_thread_prints_the_new_id(url: str) -> None:
    source = with_store(url, lambda s: chat(s, ["one", "two"]))
    code, out, err = invoke(url, "fork", source)
    assert code == 0, err
    new_id = out.strip()
    assert new_id != source
    assert out.count("\n") == 1
    code, out, _ = invoke(url, "show", new_id, "--json")
    shown = json.loads(out)
    assert shown["forked_from_id"] == source
    original = history(url, source)
    forked = history(url, new_id)
    assert forked[0]["type"] == "session_meta"
    assert forked[1:] == original  # the source's items follow the fork's own session_meta
    assert user_texts(forked) == ["one", "two"]


def test_fork_at_cuts_before_the_nth_user_message_and_prints_json(url: str) -> None:
    source = with_store(url, lambda s: chat(s, ["one", "two", "three"]))
    code, out, err = invoke(url, "fork", source, "--at", "1", "--json")
    assert code == 0, err
    forked = json.loads(out)
    assert forked["forked_from_id"] == source
    assert forked["history"] is None
    assert user_texts(history(url, forked["thread_id"])) == ["one"]
    code, out, _ = invoke(url, "fork", source, "--at", "0")
    assert code == 2  # a fork without a user message would not be listed: refused


def test_fork_of_a_thread_that_ends_mid_turn_gets_an_interrupted_boundary(url: str) -> None:
    async def seed(store: ThreadStore) -> str:
        tid = new_thread_id()
        await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="builtin"))
        await store.append_items(
            AppendThreadItemsParams(
                tid, [items.task_started("turn-1"), items.user_response_message("hi"), items.user_message("hi")]
            )
        )
        await store.shutdown_thread(tid)
        return tid

    source = with_store(url, seed)
    code, out, err = invoke(url, "fork", source)
    assert code == 0, err
    last = history(url, out.strip())[-1]
    assert last["type"] == "event_msg"
    assert last["payload"] == {
        "type": "turn_aborted",
        "turn_id": "turn-1",
        "reason": "interrupted",
        "completed_at": None,
        "duration_ms": None,
    }


@pytest.mark.parametrize(
    ("args", "message", "status"),
    [
        (["fork", "01a211bf-84ac-7211-aa07-ea80033ee564"], "not found", 3),
        (["fork", "not-an-id"], "invalid thread id", 1),
    ],
)
def test_fork_errors_are_one_line(url: str, args: list[str], message: str, status: int) -> None:
    code, out, err = invoke(url, *args)
    assert code == status
    assert out == ""
    assert err.startswith("error: ")
    assert message in err
    assert err.count("\n") == 1


def test_fork_rejects_a_negative_cut(url: str) -> None:
    source = with_store(url, lambda s: chat(s, ["one"]))
    code, _, _ = invoke(url, "fork", source, "--at", "-1")
    assert code == 2


@pytest.mark.parametrize("at", ["3", "99"])
def test_fork_at_beyond_the_user_messages_is_an_error(url: str, at: str) -> None:
    source = with_store(url, lambda s: chat(s, ["one", "two", "three"]))
    code, out, err = invoke(url, "fork", source, "--at", at, "--json")
    assert code == 2
    assert err.startswith(f"error: --at {at} is beyond")
    error = json.loads(out)["error"]
    assert error["message"].startswith(f"--at {at} is beyond thread {source}: it has 3 user messages")
    assert "--at takes 1 to 2" in error["message"]
    listed = json.loads(invoke(url, "list", "--json")[1])["threads"]
    assert [t["thread_id"] for t in listed] == [source]  # no fork was made
    code, out, _ = invoke(url, "fork", source, "--at", "2")
    assert code == 0
    assert user_texts(history(url, out.strip())) == ["one", "two"]
