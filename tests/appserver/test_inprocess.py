"""The app server in-process with a slowly streaming model: interrupts, busy threads, shutdown
with a turn running."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from threadstore import ReadThreadParams
from threadstore._backends.local import LocalThreadStore
from threadstore._runtime import BuiltinModel, ThreadManager

from .client import InProcessClient

TEXT = [{"type": "text", "text": "a long question"}]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LocalThreadStore]:
    store = LocalThreadStore(tmp_path / "home")
    yield store
    await store.close()


@pytest.fixture
async def client(store: LocalThreadStore, tmp_path: Path) -> AsyncIterator[InProcessClient]:
    # 40 pieces, 50 ms apart: a turn takes about two seconds unless interrupted.
    manager = ThreadManager(store, model=BuiltinModel(pieces=40, delay=0.05), source="vscode")
    client = InProcessClient(manager)
    await client.call("initialize", {"clientInfo": {"name": "tests", "version": "1"}})
    yield client
    if not client.task.done():
        await client.close()


async def _start(client: InProcessClient, cwd: Path) -> str:
    thread_id = (await client.call("thread/start", {"cwd": str(cwd)}))["thread"]["id"]
    assert isinstance(thread_id, str)
    return thread_id


async def test_interrupt_a_streaming_turn(client: InProcessClient, store: LocalThreadStore, tmp_path: Path) -> None:
    thread_id = await _start(client, tmp_path)
    turn = (await client.call("turn/start", {"threadId": thread_id, "input": TEXT}))["turn"]
    await client.notification("item/agentMessage/delta")

    # While the turn runs: the thread is active, other turns and rollbacks are refused, reads work.
    listed = (await client.call("thread/list"))["data"]
    assert listed[0]["status"]["type"] == "active"
    busy = await client.error("turn/start", {"threadId": thread_id, "input": TEXT})
    assert busy["code"] == -32600
    assert "in progress" in busy["message"]
    assert "in progress" in (await client.error("thread/rollback", {"threadId": thread_id, "numTurns": 1}))["message"]
    read = (await client.call("thread/read", {"threadId": thread_id, "includeTurns": True}))["thread"]
    assert read["status"]["type"] == "active"
    assert read["turns"][-1]["status"] == "inProgress"
    wrong = await client.error("turn/interrupt", {"threadId": thread_id, "turnId": "some-other-turn"})
    assert wrong["code"] == -32600

    assert await client.call("turn/interrupt", {"threadId": thread_id, "turnId": turn["id"]}) == {}
    completed = (await client.notification("turn/completed"))["params"]["turn"]
    assert completed["id"] == turn["id"]
    assert completed["status"] == "interrupted"
    assert "no turn" in (await client.error("turn/interrupt", {"threadId": thread_id, "turnId": turn["id"]}))["message"]

    read = (await client.call("thread/read", {"threadId": thread_id, "includeTurns": True}))["thread"]
    assert read["status"] == {"type": "idle"}
    assert [(t["id"], t["status"]) for t in read["turns"]] == [(turn["id"], "interrupted")]
    # The thread takes a new turn afterwards.
    await client.call("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "again"}]})
    done = (await client.notification("turn/completed", seconds=15))["params"]["turn"]
    assert done["status"] == "completed"


async def test_end_of_input_during_a_turn_stores_it_interrupted(
    client: InProcessClient, store: LocalThreadStore, tmp_path: Path
) -> None:
    thread_id = await _start(client, tmp_path)
    await client.call("turn/start", {"threadId": thread_id, "input": TEXT})
    await client.notification("item/agentMessage/delta")
    await client.close()
    assert client.server.handlers.registry.ids() == []
    stored = await store.read_thread(ReadThreadParams(thread_id, include_history=True))
    assert stored.history is not None
    kinds = [item["payload"].get("type") for item in stored.history.items if item["type"] == "event_msg"]
    assert kinds[-1] == "turn_aborted"


async def test_ephemeral_thread(client: InProcessClient, tmp_path: Path) -> None:
    started = await client.call("thread/start", {"cwd": str(tmp_path), "ephemeral": True})
    thread = started["thread"]
    assert thread["ephemeral"] is True
    assert thread["path"] is None
    read = (await client.call("thread/read", {"threadId": thread["id"], "includeTurns": True}))["thread"]
    assert read["ephemeral"] is True
    assert read["turns"] == []
    assert (await client.error("thread/rollback", {"threadId": thread["id"], "numTurns": 1}))["code"] == -32600
    assert (await client.error("thread/archive", {"threadId": thread["id"]}))["code"] == -32600
