"""Steering: input added to the running turn joins that turn's next model request.

A gated model holds each answer until the test releases it, so the order of events is decided
by the test, not by timing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from threadstore import InMemoryThreadStore, ReadThreadParams
from threadstore._rollout.turns import build_turns
from threadstore._runtime import ThreadConfig, ThreadManager
from threadstore._runtime.errors import SteerRejected
from threadstore._runtime.history import reconstruct_model_history, user_turn_positions
from threadstore._runtime.models.base import last_user_text
from threadstore.errors import InvalidRequest

from .support import GatedModel, collect_until

TEXT = [{"type": "text", "text": "first question"}]


@pytest.fixture
def store() -> InMemoryThreadStore:
    return InMemoryThreadStore()


async def test_steered_input_joins_the_running_turn(store: InMemoryThreadStore, tmp_path: Path) -> None:
    model = GatedModel()
    manager = ThreadManager(store, model=model)
    thread = await manager.start_thread(ThreadConfig(cwd=str(tmp_path)))
    sub_id = await thread.submit({"type": "user_input", "items": TEXT})
    started = (await collect_until(thread, "task_started"))[-1]
    turn_id = started.msg["turn_id"]
    await model.next_request()

    # While the model answers: input steered into the turn is accepted for it.
    assert await thread.steer([{"type": "text", "text": "also this"}], turn_id) == turn_id
    with pytest.raises(SteerRejected, match="expected active turn id `nope` but found"):
        await thread.steer([{"type": "text", "text": "x"}], "nope")
    with pytest.raises(InvalidRequest):
        await thread.steer([], turn_id)
    model.release()

    # The model is asked again within the same turn, with the steered input in the request.
    second = await model.next_request()
    assert last_user_text(second.input) == "also this"
    assert [p.get("role") for p in second.input] == ["user", "assistant", "user"]
    model.release()
    events = await collect_until(thread, "task_complete")
    assert [e.type for e in events].count("task_started") == 0
    assert {e.id for e in events} == {sub_id}
    messages = [(e.type, e.msg.get("message")) for e in events if e.type in ("user_message", "agent_message")]
    assert messages == [
        ("user_message", "first question"),
        ("agent_message", "echo: first question"),
        ("user_message", "also this"),
        ("agent_message", "echo: also this"),
    ]
    assert events[-1].msg["turn_id"] == turn_id
    assert events[-1].msg["last_agent_message"] == "echo: also this"

    # Once the turn has ended there is nothing to steer into.
    with pytest.raises(SteerRejected, match="no active turn to steer"):
        await thread.steer(TEXT, turn_id)
    await manager.shutdown_all(timeout=5)

    # Stored: one turn holding both exchanges; a rollback of one turn removes all of it.
    stored = await store.read_thread(ReadThreadParams(thread.thread_id, include_history=True))
    assert stored.history is not None
    items = stored.history.items
    turns = build_turns(items)
    assert [t["id"] for t in turns] == [turn_id]
    assert [i["type"] for i in turns[0]["items"]] == ["userMessage", "agentMessage", "userMessage", "agentMessage"]
    assert len(user_turn_positions(items)) == 1
    rolled_back = [*items, {"type": "event_msg", "payload": {"type": "thread_rolled_back", "num_turns": 1}}]
    assert reconstruct_model_history(rolled_back) == []
    assert build_turns(rolled_back) == []


async def test_steer_without_a_running_turn(store: InMemoryThreadStore, tmp_path: Path) -> None:
    manager = ThreadManager(store, model=GatedModel())
    thread = await manager.start_thread(ThreadConfig(cwd=str(tmp_path)))
    with pytest.raises(SteerRejected, match="no active turn to steer"):
        await thread.steer(TEXT, "some-turn")
    await manager.shutdown_all(timeout=5)
