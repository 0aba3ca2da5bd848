"""The thread methods current Codex clients call: each with its success path and its bad input
(unknown thread, malformed id, missing params, wrong types) and the error codes it answers.

In-process, over a local store; a gated model holds each answer until the test releases it, so
turns are as long as the test needs them to be.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.support import GatedModel
from threadstore import ReadThreadParams, ThreadNotFound
from threadstore._backends.local import LocalThreadStore
from threadstore._runtime import BuiltinModel, ThreadManager

from .client import InProcessClient, is_notification

MISSING = "01a211bf-0000-7000-8000-000000000000"
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602


def _text(text: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": text}]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LocalThreadStore]:
    store = LocalThreadStore(tmp_path / "home")
    yield store
    await store.close()


async def _client(manager: ThreadManager, **options: float) -> InProcessClient:
    client = InProcessClient(manager, **options)
    await client.call("initialize", {"clientInfo": {"name": "tests", "version": "1"}})
    return client


@pytest.fixture
async def client(store: LocalThreadStore) -> AsyncIterator[InProcessClient]:
    client = await _client(ThreadManager(store, model=BuiltinModel(), source="vscode"))
    yield client
    if not client.task.done():
        await client.close()


@pytest.fixture
async def gated(store: LocalThreadStore) -> AsyncIterator[tuple[InProcessClient, GatedModel]]:
    model = GatedModel()
    client = await _client(ThreadManager(store, model=model, source="vscode"))
    yield client, model
    for gate in model.gates:
        gate.set()
    if not client.task.done():
        await client.close()


async def _start(client: InProcessClient, cwd: Path) -> str:
    thread_id = (await client.call("thread/start", {"cwd": str(cwd)}))["thread"]["id"]
    assert isinstance(thread_id, str)
    return thread_id


async def _turn(client: InProcessClient, thread_id: str, text: str) -> dict[str, Any]:
    turn = (await client.call("turn/start", {"threadId": thread_id, "input": _text(text)}))["turn"]
    done = await client.wait(lambda m: m.get("method") == "turn/completed" and m["params"]["turn"]["id"] == turn["id"])
    return dict(done["params"]["turn"])


async def _code(client: InProcessClient, method: str, params: Any) -> int:
    return int((await client.error(method, params))["code"])


async def _bad_thread_ids(client: InProcessClient, method: str, extra: dict[str, Any]) -> None:
    """Missing, mistyped and malformed ids are invalid params; an unknown id is refused."""
    assert await _code(client, method, dict(extra)) == INVALID_PARAMS
    assert await _code(client, method, {**extra, "threadId": 42}) == INVALID_PARAMS
    assert await _code(client, method, {**extra, "threadId": "not-a-uuid"}) == INVALID_PARAMS
    assert await _code(client, method, [1, 2]) == INVALID_PARAMS


def _texts(turns: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [c["text"] for i in turn["items"] if i["type"] == "userMessage" for c in i["content"]]
        + [i["text"] for i in turn["items"] if i["type"] == "agentMessage"]
        for turn in turns
    ]


# -- thread/delete ---------------------------------------------------------------------------------


async def test_thread_delete(client: InProcessClient, store: LocalThreadStore, tmp_path: Path) -> None:
    loaded = await _start(client, tmp_path)
    await _turn(client, loaded, "to be deleted while loaded")
    cold = await _start(client, tmp_path)
    await _turn(client, cold, "to be deleted cold and archived")
    await client.call("thread/archive", {"threadId": cold})
    fresh = await _start(client, tmp_path)  # loaded, nothing stored yet

    # A loaded thread is shut down first, then deleted; every connection hears of it.
    assert await client.call("thread/delete", {"threadId": loaded}) == {}
    assert (await client.notification("thread/deleted"))["params"] == {"threadId": loaded}
    assert loaded not in (await client.call("thread/loaded/list"))["data"]
    with pytest.raises(ThreadNotFound):
        await store.read_thread(ReadThreadParams(loaded, include_archived=True))
    gone = await client.error("thread/read", {"threadId": loaded})
    assert gone == {"code": INVALID_REQUEST, "message": f"thread not found: {loaded}"}
    # An archived thread is deleted from the store; a loaded one with nothing stored just goes.
    assert await client.call("thread/delete", {"threadId": cold}) == {}
    assert await client.call("thread/delete", {"threadId": fresh}) == {}
    assert (await client.call("thread/loaded/list"))["data"] == []
    assert (await client.call("thread/list", {"archived": True}))["data"] == []

    # Bad input.
    again = await client.error("thread/delete", {"threadId": loaded})
    assert again == {"code": INVALID_REQUEST, "message": f"thread not found: {loaded}"}
    assert await _code(client, "thread/delete", {"threadId": MISSING}) == INVALID_REQUEST
    await _bad_thread_ids(client, "thread/delete", {})
    ephemeral = (await client.call("thread/start", {"cwd": str(tmp_path), "ephemeral": True}))["thread"]["id"]
    refused = await client.error("thread/delete", {"threadId": ephemeral})
    assert refused["code"] == INVALID_REQUEST
    assert "ephemeral" in refused["message"]
    assert ephemeral in (await client.call("thread/loaded/list"))["data"]


# -- thread/metadata/update ------------------------------------------------------------------------


async def test_thread_metadata_update(client: InProcessClient, tmp_path: Path) -> None:
    thread_id = await _start(client, tmp_path)
    await _turn(client, thread_id, "hello")

    def update(git: Any) -> dict[str, Any]:
        return {"threadId": thread_id, "gitInfo": git}

    shown = (await client.call("thread/metadata/update", update({"sha": " abc ", "branch": "main"})))["thread"]
    assert shown["id"] == thread_id
    assert shown["gitInfo"] == {"sha": "abc", "branch": "main", "originUrl": None}
    assert shown["status"] == {"type": "idle"}
    # Omitted keeps, null clears.
    shown = (await client.call("thread/metadata/update", update({"branch": None, "originUrl": "u"})))["thread"]
    assert shown["gitInfo"] == {"sha": "abc", "branch": None, "originUrl": "u"}
    # Cold (here: archived) threads are updated in the store.
    await client.call("thread/archive", {"threadId": thread_id})
    shown = (await client.call("thread/metadata/update", update({"sha": "def"})))["thread"]
    assert shown["gitInfo"] == {"sha": "def", "branch": None, "originUrl": "u"}
    assert shown["status"] == {"type": "notLoaded"}
    read = (await client.call("thread/read", {"threadId": thread_id}))["thread"]
    assert read["gitInfo"] == shown["gitInfo"]

    # Bad input.
    for params, code, message in [
        ({"threadId": thread_id}, INVALID_REQUEST, "thread metadata update must include at least one field"),
        (update({}), INVALID_REQUEST, "gitInfo must include at least one field"),
        (update({"sha": "  "}), INVALID_REQUEST, "gitInfo.sha must not be empty"),
        (update({"sha": 5}), INVALID_PARAMS, None),
        (update("main"), INVALID_PARAMS, None),
        ({**update({"sha": "x"}), "projectId": "p"}, INVALID_REQUEST, None),
        ({"threadId": MISSING, "gitInfo": {"sha": "x"}}, INVALID_REQUEST, f"thread not found: {MISSING}"),
    ]:
        error = await client.error("thread/metadata/update", params)
        assert error["code"] == code, params
        if message is not None:
            assert error["message"] == message
    await _bad_thread_ids(client, "thread/metadata/update", {"gitInfo": {"sha": "x"}})


# -- thread/memoryMode/set -------------------------------------------------------------------------


async def test_thread_memory_mode_set(client: InProcessClient, store: LocalThreadStore, tmp_path: Path) -> None:
    thread_id = await _start(client, tmp_path)
    await _turn(client, thread_id, "hello")
    assert await client.call("thread/memoryMode/set", {"threadId": thread_id, "mode": "disabled"}) == {}
    stored = await store.read_thread(ReadThreadParams(thread_id))
    assert stored.memory_mode == "disabled"
    await client.call("thread/archive", {"threadId": thread_id})  # cold and archived: still set
    assert await client.call("thread/memoryMode/set", {"threadId": thread_id, "mode": "enabled"}) == {}
    stored = await store.read_thread(ReadThreadParams(thread_id, include_archived=True))
    assert stored.memory_mode == "enabled"
    for params, code in [
        ({"threadId": thread_id}, INVALID_PARAMS),
        ({"threadId": thread_id, "mode": "sometimes"}, INVALID_PARAMS),
        ({"threadId": thread_id, "mode": 1}, INVALID_PARAMS),
        ({"threadId": MISSING, "mode": "enabled"}, INVALID_REQUEST),
    ]:
        assert (await client.error("thread/memoryMode/set", params))["code"] == code, params
    await _bad_thread_ids(client, "thread/memoryMode/set", {"mode": "enabled"})


# -- thread/search ---------------------------------------------------------------------------------


async def test_thread_search(client: InProcessClient, tmp_path: Path) -> None:
    alpha = await _start(client, tmp_path)
    await _turn(client, alpha, "the alpha plan for storage")
    beta = await _start(client, tmp_path)
    await _turn(client, beta, "the beta plan for caching")

    found = await client.call("thread/search", {"searchTerm": "ALPHA"})
    assert [hit["thread"]["id"] for hit in found["data"]] == [alpha]
    assert "alpha" in found["data"][0]["snippet"]
    assert found["data"][0]["thread"]["status"] == {"type": "idle"}
    assert found["nextCursor"] is None
    assert found["backwardsCursor"] is None
    both = await client.call("thread/search", {"searchTerm": "plan", "limit": 1})
    assert len(both["data"]) == 1
    rest = await client.call("thread/search", {"searchTerm": "plan", "limit": 1, "cursor": both["nextCursor"]})
    assert {both["data"][0]["thread"]["id"], rest["data"][0]["thread"]["id"]} == {alpha, beta}
    assert (await client.call("thread/search", {"searchTerm": "plan", "sortDirection": "asc"}))["data"][0]["thread"][
        "id"
    ] == alpha
    assert (await client.call("thread/search", {"searchTerm": "nothing like this"}))["data"] == []
    await client.call("thread/archive", {"threadId": beta})
    archived = await client.call("thread/search", {"searchTerm": "plan", "archived": True})
    assert [hit["thread"]["id"] for hit in archived["data"]] == [beta]

    # Bad input.
    empty = await client.error("thread/search", {"searchTerm": "   "})
    assert empty == {"code": INVALID_REQUEST, "message": "thread/search requires a non-empty searchTerm"}
    for params in [{}, {"searchTerm": 5}, {"searchTerm": "x", "limit": 0}, {"searchTerm": "x", "sourceKinds": ["?"]}]:
        assert await _code(client, "thread/search", params) == INVALID_PARAMS, params
    assert await _code(client, "thread/search", {"searchTerm": "x", "cursor": "not a cursor"}) == INVALID_REQUEST


# -- thread/unsubscribe ----------------------------------------------------------------------------


async def test_thread_unsubscribe(client: InProcessClient, tmp_path: Path) -> None:
    thread_id = await _start(client, tmp_path)
    assert await client.call("thread/unsubscribe", {"threadId": thread_id}) == {"status": "unsubscribed"}
    assert await client.call("thread/unsubscribe", {"threadId": thread_id}) == {"status": "notSubscribed"}
    # Still loaded (until it has been idle a while); resuming rejoins and subscribes again.
    assert thread_id in (await client.call("thread/loaded/list"))["data"]
    await client.call("thread/resume", {"threadId": thread_id})
    assert await client.call("thread/unsubscribe", {"threadId": thread_id}) == {"status": "unsubscribed"}
    assert await client.call("thread/unsubscribe", {"threadId": MISSING}) == {"status": "notLoaded"}
    await _bad_thread_ids(client, "thread/unsubscribe", {})


async def test_idle_thread_without_subscribers_is_unloaded(store: LocalThreadStore, tmp_path: Path) -> None:
    client = await _client(ThreadManager(store, model=BuiltinModel(), source="vscode"), idle_unload_delay=0.01)
    try:
        thread_id = await _start(client, tmp_path)
        await _turn(client, thread_id, "remember me")
        assert await client.call("thread/unsubscribe", {"threadId": thread_id}) == {"status": "unsubscribed"}
        status = await client.notification("thread/status/changed")
        assert status["params"] == {"threadId": thread_id, "status": {"type": "notLoaded"}}
        assert (await client.notification("thread/closed"))["params"] == {"threadId": thread_id}
        assert (await client.call("thread/loaded/list"))["data"] == []
        read = (await client.call("thread/read", {"threadId": thread_id, "includeTurns": True}))["thread"]
        assert _texts(read["turns"]) == [["remember me", "echo: remember me"]]
        assert await client.call("thread/unsubscribe", {"threadId": thread_id}) == {"status": "notLoaded"}
    finally:
        await client.close()


# -- turn/steer ------------------------------------------------------------------------------------


async def test_turn_steer(gated: tuple[InProcessClient, GatedModel], tmp_path: Path) -> None:
    client, model = gated
    thread_id = await _start(client, tmp_path)
    no_turn = await client.error("turn/steer", {"threadId": thread_id, "input": _text("x"), "expectedTurnId": "t"})
    assert no_turn == {"code": INVALID_REQUEST, "message": "no active turn to steer"}

    turn = (await client.call("turn/start", {"threadId": thread_id, "input": _text("first")}))["turn"]
    await model.next_request()
    steered = await client.call(
        "turn/steer", {"threadId": thread_id, "input": _text("second"), "expectedTurnId": turn["id"]}
    )
    assert steered == {"turnId": turn["id"]}
    mismatch = await client.error("turn/steer", {"threadId": thread_id, "input": _text("x"), "expectedTurnId": "other"})
    assert mismatch == {
        "code": INVALID_REQUEST,
        "message": f"expected active turn id `other` but found `{turn['id']}`",
    }
    for params in [
        {"threadId": thread_id, "input": _text("x")},
        {"threadId": thread_id, "input": [], "expectedTurnId": turn["id"]},
        {"threadId": thread_id, "input": "x", "expectedTurnId": turn["id"]},
        {"threadId": thread_id, "input": _text("x"), "expectedTurnId": 7},
    ]:
        assert await _code(client, "turn/steer", params) == INVALID_PARAMS, params
    assert await _code(client, "turn/steer", {"threadId": MISSING, "input": _text("x"), "expectedTurnId": "t"}) == (
        INVALID_REQUEST
    )
    await _bad_thread_ids(client, "turn/steer", {"input": _text("x"), "expectedTurnId": "t"})

    model.release()
    await model.next_request()
    model.release()
    messages = await _collect_turn(client, turn["id"])
    items = [m["params"]["item"] for m in messages if m.get("method") == "item/completed"]
    assert [(i["type"], i.get("text") or i["content"][0]["text"]) for i in items] == [
        ("userMessage", "first"),
        ("agentMessage", "echo: first"),
        ("userMessage", "second"),
        ("agentMessage", "echo: second"),
    ]
    assert all(m["params"]["turnId"] == turn["id"] for m in messages if m.get("method") == "item/completed")
    read = (await client.call("thread/read", {"threadId": thread_id, "includeTurns": True}))["thread"]
    assert [t["id"] for t in read["turns"]] == [turn["id"]]
    assert _texts(read["turns"]) == [["first", "second", "echo: first", "echo: second"]]


async def _collect_turn(client: InProcessClient, turn_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        message = await client.wait(lambda m: "method" in m)
        out.append(message)
        if message["method"] == "turn/completed" and message["params"]["turn"]["id"] == turn_id:
            return out


# -- thread/revert ---------------------------------------------------------------------------------


async def test_thread_revert(client: InProcessClient, tmp_path: Path) -> None:
    thread_id = await _start(client, tmp_path)
    turns = [await _turn(client, thread_id, text) for text in ("one", "two", "three")]

    reverted = await client.call("thread/revert", {"threadId": thread_id, "beforeTurnId": turns[1]["id"]})
    assert reverted["thread"]["id"] == thread_id
    assert reverted["turnsBackwardsCursor"] is None
    assert reverted["itemsBackwardsCursor"] is None
    assert (await client.notification("thread/reverted"))["params"] == {"threadId": thread_id}
    read = (await client.call("thread/read", {"threadId": thread_id, "includeTurns": True}))["thread"]
    assert [t["id"] for t in read["turns"]] == [turns[0]["id"]]
    # The thread goes on from there.
    await _turn(client, thread_id, "four")
    read = (await client.call("thread/read", {"threadId": thread_id, "includeTurns": True}))["thread"]
    assert _texts(read["turns"]) == [["one", "echo: one"], ["four", "echo: four"]]

    # Bad input.
    unknown = await client.error("thread/revert", {"threadId": thread_id, "beforeTurnId": turns[2]["id"]})
    assert unknown == {"code": INVALID_REQUEST, "message": f"turn not found: {turns[2]['id']}"}
    assert await _code(client, "thread/revert", {"threadId": thread_id}) == INVALID_PARAMS
    assert await _code(client, "thread/revert", {"threadId": thread_id, "beforeTurnId": 3}) == INVALID_PARAMS
    not_loaded = await client.error("thread/revert", {"threadId": MISSING, "beforeTurnId": "t"})
    assert not_loaded["code"] == INVALID_REQUEST
    assert "not loaded" in not_loaded["message"]
    await _bad_thread_ids(client, "thread/revert", {"beforeTurnId": "t"})
    ephemeral = (await client.call("thread/start", {"cwd": str(tmp_path), "ephemeral": True}))["thread"]["id"]
    assert await _code(client, "thread/revert", {"threadId": ephemeral, "beforeTurnId": "t"}) == INVALID_REQUEST


async def test_revert_refused_while_a_turn_runs(gated: tuple[InProcessClient, GatedModel], tmp_path: Path) -> None:
    client, model = gated
    thread_id = await _start(client, tmp_path)
    turn = (await client.call("turn/start", {"threadId": thread_id, "input": _text("first")}))["turn"]
    await model.next_request()
    busy = await client.error("thread/revert", {"threadId": thread_id, "beforeTurnId": turn["id"]})
    assert busy == {"code": INVALID_REQUEST, "message": "cannot revert while a turn is in progress"}
    model.release()
    await client.wait(is_notification("turn/completed"))
