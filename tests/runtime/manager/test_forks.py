"""Forking a thread: whole, before its n-th user message, and after a turn that never ended."""

from __future__ import annotations

from tests.fixtures import MID_TURN_ROLLOUT
from threadstore import ThreadStore, items
from threadstore._contract.types import AppendThreadItemsParams, CreateThreadParams, ReadThreadParams
from threadstore._runtime import BuiltinModel, ThreadConfig, ThreadManager

from ..support import kinds, read_rollout, run_turn
from .helpers import TURN_KINDS, history_of, request_texts, user_texts


async def test_fork_whole_thread(manager: ThreadManager, store: ThreadStore, cwd: str) -> None:
    source = await manager.start_thread(ThreadConfig(cwd=cwd))
    await run_turn(source, "alpha")
    await run_turn(source, "beta")
    fork = await manager.fork_thread(source.thread_id)
    assert fork.thread_id != source.thread_id
    assert fork.session_configured["forked_from_id"] == source.thread_id
    source_history = await history_of(store, source.thread_id)
    fork_history = await history_of(store, fork.thread_id)
    assert fork_history[0]["type"] == "session_meta"
    assert fork_history[0]["payload"]["id"] == fork.thread_id
    assert fork_history[0]["payload"]["forked_from_id"] == source.thread_id
    assert fork_history[1:] == source_history
    stored = await store.read_thread(ReadThreadParams(fork.thread_id))
    assert stored.forked_from_id == source.thread_id
    assert stored.preview == "alpha"
    await run_turn(fork, "gamma")
    assert user_texts(await history_of(store, fork.thread_id)) == ["alpha", "beta", "gamma"]
    assert user_texts(await history_of(store, source.thread_id)) == ["alpha", "beta"]


async def test_fork_before_nth_user_message(
    manager: ThreadManager, store: ThreadStore, model: BuiltinModel, cwd: str
) -> None:
    source = await manager.start_thread(ThreadConfig(cwd=cwd))
    for text in ("one", "two", "three"):
        await run_turn(source, text)
    fork = await manager.fork_thread(source.thread_id, nth_user_message=1)
    fork_history = await history_of(store, fork.thread_id)
    assert user_texts(fork_history) == ["one"]
    assert kinds(fork_history[2:]) == TURN_KINDS  # one whole turn after the two session_meta lines
    await run_turn(fork, "branch")
    assert request_texts(model.requests[-1]) == ["one", "echo: one", "branch"]


async def test_fork_of_a_thread_ending_mid_turn_gets_interrupted_boundary(
    manager: ThreadManager, store: ThreadStore, cwd: str
) -> None:
    source_items = read_rollout(MID_TURN_ROLLOUT)
    source_id = source_items[0]["payload"]["id"]
    await store.create_thread(CreateThreadParams(thread_id=source_id, cwd=cwd, model_provider="openai"))
    await store.append_items(AppendThreadItemsParams(source_id, source_items[1:]))
    await store.shutdown_thread(source_id)
    fork = await manager.fork_thread(source_id)
    fork_history = await history_of(store, fork.thread_id)
    boundary = fork_history[-1]
    assert items.is_event(boundary, "turn_aborted")
    assert boundary["payload"]["turn_id"] == "019c8a70-ebe7-7e83-92b2-f77ddd49c5f9"
    assert boundary["payload"]["reason"] == "interrupted"
    assert fork_history[0]["payload"]["forked_from_id"] == source_id
    await run_turn(fork, "carry on")
