"""The Claude Agent SDK's session store on ours: ``ThreadSessionStore`` over the local store
(and the in-memory store), fed the batches Claude Code mirrors.

A session grows turn by turn: each turn is one ``append`` of the turn's 10 entries
(:func:`bench.claude_home.mirrored_turn`), as the SDK's batcher sends them at the end of a turn;
then the whole session is read back with ``load`` (what a resume on another machine does).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threadstore import ThreadStore
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.memory import InMemoryThreadStore
from threadstore.integrations.claude_agent_sdk import ThreadSessionStore

from ..claude_home import mirrored_turn
from ..measure import time_async

if TYPE_CHECKING:
    from claude_agent_sdk import SessionKey

__all__ = ["SESSION", "claude_store", "measure_session_store"]

SESSION = "0b7d2a52-5a43-4a29-9d7e-2f2c0d6b8f10"
PROJECT = "-srv-bench-project"


async def measure_session_store(store: ThreadStore, turns: int) -> dict[str, float]:
    """Median ms of one turn's ``append`` while a session grows to ``turns`` turns, and of a
    ``load`` of the whole session."""
    sessions = ThreadSessionStore(store)
    key: SessionKey = {"project_key": PROJECT, "session_id": SESSION}
    batches = [mirrored_turn(SESSION, "/srv/bench-project", n) for n in range(turns)]
    times: list[float] = []
    for batch in batches:
        started = time.perf_counter()
        await sessions.append(key, batch)
        times.append(time.perf_counter() - started)
    loaded = await sessions.load(key)
    assert loaded is not None
    assert len(loaded) == sum(map(len, batches))
    load_s = await time_async(lambda: sessions.load(key), runs=7)
    return {"append_ms": statistics.median(times) * 1e3, "first_append_ms": times[0] * 1e3, "load_ms": load_s * 1e3}


async def claude_store(work: Path, turns: int) -> dict[str, Any]:
    async with LocalThreadStore(work / "home") as local:
        metrics = await measure_session_store(local, turns)
    async with InMemoryThreadStore() as memory:
        in_memory = await measure_session_store(memory, turns)
    return {**metrics, **{f"memory_{name}": value for name, value in in_memory.items()}}
