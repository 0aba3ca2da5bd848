"""``thread/turns/list`` and ``thread/items/list``: paginated history over the store's pages.

Over both fixture homes the pages add up to the turns Codex's own ``thread/read`` gave; over a
live thread they show the running turn as ``inProgress``; bad input gets Codex's error codes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import CODEX_HOMES
from tests.runtime.support import GatedModel
from threadstore._backends.local import LocalThreadStore
from threadstore._runtime import ThreadManager

from .client import InProcessClient

HOMES = sorted(p.name for p in CODEX_HOMES.iterdir() if p.is_dir())
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
MISSING = "01a211bf-0000-7000-8000-000000000000"


async def _client(store: LocalThreadStore, model: GatedModel | None = None) -> InProcessClient:
    client = InProcessClient(ThreadManager(store, model=model, source="vscode"))
    await client.call("initialize", {"clientInfo": {"name": "tests", "version": "1"}})
    return client


@pytest.fixture(params=HOMES)
async def home(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[InProcessClient, Any]]:
    target = tmp_path / request.param
    shutil.copytree(CODEX_HOMES / request.param, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    store = LocalThreadStore(target)
    client = await _client(store)
    yield client, json.loads((target / "expected.json").read_text())
    await client.close()
    await store.close()


async def _pages(client: InProcessClient, method: str, params: dict[str, Any]) -> list[Any]:
    data: list[Any] = []
    cursor = None
    while True:
        page = await client.call(method, {**params, "cursor": cursor})
        assert set(page) == {"data", "nextCursor", "backwardsCursor"}
        data += page["data"]
        if page["nextCursor"] is None:
            return data
        cursor = page["nextCursor"]


async def test_pages_add_up_to_codexs_own_turns(home: tuple[InProcessClient, Any]) -> None:
    client, expected = home
    for key, thread_id in sorted(expected["ids"].items()):
        # Codex reports itemsView on the turns of its current builds; pages report it always.
        want = [{**turn, "itemsView": "full"} for turn in expected["reads"][key]["thread"]["turns"]]
        assert want, key
        params = {"threadId": thread_id, "limit": 1, "itemsView": "full"}
        assert await _pages(client, "thread/turns/list", {**params, "sortDirection": "asc"}) == want, key
        assert (await _pages(client, "thread/turns/list", params))[::-1] == want, key
        items = [{"turnId": turn["id"], "item": item} for turn in want for item in turn["items"]]
        assert await _pages(client, "thread/items/list", {"threadId": thread_id, "limit": 2}) == items, key
        for turn in want:
            of_turn = await _pages(client, "thread/turns/items/list", {"threadId": thread_id, "turnId": turn["id"]})
            assert of_turn == turn["items"], key
        # The defaults: newest turns first, each with its first user and last agent message.
        newest = (await client.call("thread/turns/list", {"threadId": thread_id, "limit": 1}))["data"]
        assert newest[0]["id"] == want[-1]["id"]
        assert newest[0]["itemsView"] == "summary"
        assert [i["type"] for i in newest[0]["items"]] == ["userMessage", "agentMessage"][: len(newest[0]["items"])]


async def test_a_running_turn_is_in_progress(tmp_path: Path) -> None:
    store = LocalThreadStore(tmp_path / "home")
    model = GatedModel()
    client = await _client(store, model)
    try:
        thread_id = (await client.call("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
        empty = await client.call("thread/turns/list", {"threadId": thread_id})
        assert empty == {"data": [], "nextCursor": None, "backwardsCursor": None}
        turn = (await client.call("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "hi"}]}))[
            "turn"
        ]
        await model.next_request()
        running = (await client.call("thread/turns/list", {"threadId": thread_id, "itemsView": "full"}))["data"]
        assert [(t["id"], t["status"]) for t in running] == [(turn["id"], "inProgress")]
        assert [i["type"] for i in running[0]["items"]] == ["userMessage"]
        model.release()
        await client.wait(lambda m: m.get("method") == "turn/completed")
        done = (await client.call("thread/turns/list", {"threadId": thread_id, "itemsView": "notLoaded"}))["data"]
        assert [(t["id"], t["status"], t["items"], t["itemsView"]) for t in done] == [
            (turn["id"], "completed", [], "notLoaded")
        ]
        items = (await client.call("thread/items/list", {"threadId": thread_id}))["data"]
        assert [(e["turnId"], e["item"]["type"]) for e in items] == [
            (turn["id"], "userMessage"),
            (turn["id"], "agentMessage"),
        ]
    finally:
        for gate in model.gates:
            gate.set()
        await client.close()
        await store.close()


async def test_bad_input_gets_codexs_error_codes(home: tuple[InProcessClient, Any]) -> None:
    client, expected = home
    thread_id = expected["ids"]["A"]

    async def code(method: str, params: Any) -> int:
        return int((await client.error(method, params))["code"])

    for method in ("thread/turns/list", "thread/items/list"):
        assert await code(method, {"threadId": MISSING}) == INVALID_REQUEST
        assert await code(method, {"threadId": thread_id, "cursor": "not-a-cursor"}) == INVALID_REQUEST
        assert await code(method, {}) == INVALID_PARAMS
        assert await code(method, {"threadId": "not-a-uuid"}) == INVALID_PARAMS
        assert await code(method, {"threadId": thread_id, "limit": 0}) == INVALID_PARAMS
        assert await code(method, {"threadId": thread_id, "limit": "5"}) == INVALID_PARAMS
        assert await code(method, {"threadId": thread_id, "sortDirection": "sideways"}) == INVALID_PARAMS
    assert await code("thread/turns/list", {"threadId": thread_id, "itemsView": "everything"}) == INVALID_PARAMS
    assert await code("thread/items/list", {"threadId": thread_id, "turnId": "no-such-turn"}) == INVALID_REQUEST
    assert await code("thread/turns/items/list", {"threadId": thread_id}) == INVALID_PARAMS
    # A cursor of one method is not one of the other.
    page = await client.call("thread/turns/list", {"threadId": thread_id, "limit": 1})
    assert await code("thread/items/list", {"threadId": thread_id, "cursor": page["nextCursor"]}) == INVALID_REQUEST
