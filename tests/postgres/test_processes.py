"""Separate processes: two racing for one thread, and a writer killed while holding its lease."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import pytest

from threadstore import AppendThreadItemsParams, Conflict, CreateThreadParams, ResumeThreadParams, new_thread_id
from threadstore._rollout.items import user_message

from ._util import history, numbers, read_json_line, reap, spawn
from .conftest import StoreFactory


@pytest.mark.parametrize("existing", [False, True], ids=["create", "resume"])
async def test_two_processes_race_for_one_thread(open_pg: StoreFactory, postgres_dsn: str, existing: bool) -> None:
    tid = new_thread_id()
    store = open_pg()
    if existing:
        await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/srv/work", model_provider="test"))
        await store.append_items(AppendThreadItemsParams(tid, [user_message("race")]))
        await store.shutdown_thread(tid)
    start_at = time.time() + 1.5
    procs = [spawn("race", postgres_dsn, tid, str(start_at), "40", stdin=subprocess.PIPE) for _ in range(2)]
    try:
        results = [read_json_line(p) for p in procs]
        assert sorted(str(r["result"]) for r in results) == ["conflict", "won"], results
        loser = next(r for r in results if r["result"] == "conflict")
        assert "already" in str(loser["message"]) or "live writer" in str(loser["message"])
        winner = procs[[r["result"] for r in results].index("won")]
        with pytest.raises(Conflict):  # this process cannot take it either
            await store.resume_thread(ResumeThreadParams(tid))
        assert winner.stdin is not None
        winner.stdin.write("go\n")
        winner.stdin.flush()
        assert read_json_line(winner) == {"done": 40}
    finally:
        reap(procs)
    loaded = await history(store, tid)
    tagged = [i for i in loaded if "pid" in i.get("payload", {})]
    assert len({i["payload"]["pid"] for i in tagged}) == 1  # one writer's items, no mixing
    assert numbers(loaded) == list(range(40))


async def test_a_killed_writer_loses_nothing_it_flushed_and_its_lease_expires(
    open_pg: StoreFactory, postgres_dsn: str
) -> None:
    tid = new_thread_id()
    proc = spawn("append-forever", postgres_dsn, tid, "1.0")
    acked = -1
    try:
        while acked < 60:
            line = read_json_line(proc)
            assert "error" not in line, line
            acked = int(str(line["acked"]))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        reap([proc])
    store = open_pg()
    for _ in range(300):  # the dead writer's lease runs out after its 1 s lifetime
        try:
            await store.resume_thread(ResumeThreadParams(tid))
            break
        except Conflict:
            await asyncio.sleep(0.05)
    else:
        pytest.fail("the dead writer's lease never expired")
    found = numbers(await history(store, tid))
    assert found == list(range(len(found)))  # in order, nothing twice, no gaps, nothing foreign
    assert len(found) > acked  # every acknowledged item is there
    await store.append_items(AppendThreadItemsParams(tid, [user_message("resumed")]))
    await store.shutdown_thread(tid)
    assert (await history(store, tid))[-1]["payload"]["message"] == "resumed"
