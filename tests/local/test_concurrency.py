"""One live writer per thread, across processes and store objects; concurrent appends."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from threadstore import (
    AppendThreadItemsParams,
    Conflict,
    CreateThreadParams,
    ListThreadsParams,
    ReadThreadParams,
    ResumeThreadParams,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.local import lock as lock_module
from threadstore._rollout.items import user_message

from ._util import history, make_thread, numbered, numbers, open_store, read_json_line, reap, rollout_files, spawn


@pytest.mark.parametrize("existing", [False, True], ids=["create", "resume"])
async def test_two_processes_race_for_one_thread(tmp_path: Path, existing: bool) -> None:
    home = tmp_path / "home"
    tid = new_thread_id()
    if existing:
        store = open_store(home)
        await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/srv/work", model_provider="test"))
        await store.append_items(AppendThreadItemsParams(tid, [user_message("race")]))
        await store.shutdown_thread(tid)
        await store.close()
    start_at = time.time() + 0.6
    procs = [spawn("race", str(home), tid, str(start_at), "40", stdin=subprocess.PIPE) for _ in range(2)]
    try:
        results = [read_json_line(p) for p in procs]
        outcomes = sorted(str(r["result"]) for r in results)
        assert outcomes == ["conflict", "won"], results
        loser = next(r for r in results if r["result"] == "conflict")
        assert "already" in str(loser["message"]) or "live writer" in str(loser["message"])
        winner = procs[[r["result"] for r in results].index("won")]
        # While the winner holds the thread, this process cannot take it either.
        store = open_store(home)
        try:
            with pytest.raises(Conflict):
                await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/srv/work", model_provider="test"))
            if existing:
                with pytest.raises(Conflict):
                    await store.resume_thread(ResumeThreadParams(thread_id=tid))
        finally:
            await store.close()
        assert winner.stdin is not None
        winner.stdin.write("go\n")
        winner.stdin.flush()
        assert read_json_line(winner) == {"done": 40}
        for proc in procs:
            assert proc.wait(timeout=20) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        reap(procs)

    store = open_store(home)
    try:
        items = await history(store, tid)
        assert [i for i in items if i["type"] == "session_meta"][:1] == items[:1]
        assert sum(1 for i in items if i["type"] == "session_meta") == 1
        assert numbers(items) == list(range(40))
        assert len({i["payload"]["pid"] for i in items if i["type"] == "response_item"}) == 1
        assert len(rollout_files(home)) == 1
        # The winner is gone: the thread can be resumed again.
        await store.resume_thread(ResumeThreadParams(thread_id=tid))
        await store.append_items(AppendThreadItemsParams(tid, [numbered(40)]))
        await store.shutdown_thread(tid)
        assert numbers(await history(store, tid)) == list(range(41))
    finally:
        await store.close()


async def test_second_store_in_one_process_gets_conflict(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = open_store(home)
    second = open_store(home)
    try:
        tid = new_thread_id()
        await first.create_thread(CreateThreadParams(thread_id=tid, cwd="/srv/work", model_provider="test"))
        # Nothing is written yet, and still the id is taken.
        with pytest.raises(Conflict):
            await second.create_thread(CreateThreadParams(thread_id=tid, cwd="/srv/work", model_provider="test"))
        await first.append_items(AppendThreadItemsParams(tid, [user_message("held"), numbered(0)]))
        with pytest.raises(Conflict):
            await second.create_thread(CreateThreadParams(thread_id=tid, cwd="/srv/work", model_provider="test"))
        with pytest.raises(Conflict):
            await second.resume_thread(ResumeThreadParams(thread_id=tid))
        # The same store refuses a second writer too.
        with pytest.raises(Conflict):
            await first.resume_thread(ResumeThreadParams(thread_id=tid))
        # Cold-thread operations that would move or rewrite the file are refused elsewhere.
        with pytest.raises(Conflict):
            await second.archive_thread(tid)
        with pytest.raises(Conflict):
            await second.delete_thread(tid)
        # Reads are fine.
        assert (await second.read_thread(ReadThreadParams(tid))).first_user_message == "held"

        await first.shutdown_thread(tid)
        await second.resume_thread(ResumeThreadParams(thread_id=tid))
        await second.append_items(AppendThreadItemsParams(tid, [numbered(1)]))
        with pytest.raises(Conflict):
            await first.resume_thread(ResumeThreadParams(thread_id=tid))
        await second.shutdown_thread(tid)
        assert numbers(await history(first, tid)) == [0, 1]
        assert len(rollout_files(home)) == 1
    finally:
        await first.close()
        await second.close()


async def test_closing_a_store_releases_its_threads(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = open_store(home)
    tid = await make_thread(first, "x", shutdown=False)
    second = open_store(home)
    try:
        with pytest.raises(Conflict):
            await second.resume_thread(ResumeThreadParams(thread_id=tid))
        await first.close()
        await second.resume_thread(ResumeThreadParams(thread_id=tid))
        await second.shutdown_thread(tid)
    finally:
        await first.close()
        await second.close()


async def test_create_rechecks_existence_after_taking_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process may create, write and release the thread between the existence check and
    the lock: the create must still be refused, not start a second rollout for the same id."""
    home = tmp_path / "home"
    other = open_store(home)
    store = open_store(home)
    tid = new_thread_id()
    real_acquire = lock_module.ThreadLock.acquire
    raced = False

    def acquire_after_the_other_writer(locks_dir: Path, thread_id: str) -> lock_module.ThreadLock:
        nonlocal raced
        if not raced:
            raced = True
            # The other writer runs to completion in this window (as another process would).
            _run_other_writer(other, tid)
        return real_acquire(locks_dir, thread_id)

    monkeypatch.setattr(lock_module.ThreadLock, "acquire", staticmethod(acquire_after_the_other_writer))
    try:
        with pytest.raises(Conflict):
            await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/srv/work", model_provider="test"))
        monkeypatch.undo()
        assert raced
        assert len(rollout_files(home)) == 1
        assert numbers(await history(store, tid)) == [0]
        page = await store.list_threads(ListThreadsParams())
        assert [t.thread_id for t in page.items] == [tid]
    finally:
        monkeypatch.undo()
        await other.close()
        await store.close()


def _run_other_writer(other: LocalThreadStore, tid: str) -> None:
    """Create, write and shut down ``tid`` through ``other`` from inside a running event loop
    (a helper thread with its own loop, so the caller's synchronous frame is not left)."""
    import threading

    errors: list[BaseException] = []

    def work() -> None:
        async def run() -> None:
            await other.create_thread(CreateThreadParams(thread_id=tid, cwd="/srv/work", model_provider="test"))
            await other.append_items(AppendThreadItemsParams(tid, [user_message("first"), numbered(0)]))
            await other.shutdown_thread(tid)

        try:
            asyncio.run(run())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(20)
    assert not errors, errors


async def test_concurrent_tasks_appending_to_one_thread(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    try:
        tid = await make_thread(store, "many writers", shutdown=False)
        tasks, per_call, calls_per_task = 25, 4, 8

        async def writer(task: int) -> None:
            for call in range(calls_per_task):
                base = (task * calls_per_task + call) * per_call
                batch = [{**numbered(base + k), "task": task} for k in range(per_call)]
                await store.append_items(AppendThreadItemsParams(tid, batch))
                if call % 3 == 0:
                    await store.flush_thread(tid)
                await asyncio.sleep(0)

        await asyncio.gather(*(writer(t) for t in range(tasks)))
        await store.shutdown_thread(tid)
        got = numbers(await history(store, tid))
        total = tasks * calls_per_task * per_call
        assert sorted(got) == list(range(total))
        # Each call's items are contiguous and in their order.
        for start in range(0, total, per_call):
            assert got[start : start + per_call] == list(range(got[start], got[start] + per_call))
        # Calls of one task stay in the task's order.
        for task in range(tasks):
            mine = [n for n in got if n // (calls_per_task * per_call) == task]
            assert mine == sorted(mine)
    finally:
        await store.close()


async def test_store_objects_share_one_home_for_reads(tmp_path: Path) -> None:
    """A second store sees what the first writes without being told."""
    home = tmp_path / "home"
    a = LocalThreadStore(home)
    b = LocalThreadStore(home)
    try:
        assert (await b.list_threads(ListThreadsParams())).items == []
        tid = await make_thread(a, "seen by both", shutdown=False)
        assert [t.thread_id for t in (await b.list_threads(ListThreadsParams())).items] == [tid]
        await a.append_items(AppendThreadItemsParams(tid, [numbered(0)]))
        assert numbers(await history(b, tid)) == [0]
        await a.shutdown_thread(tid)
    finally:
        await a.close()
        await b.close()


def test_many_processes_opening_a_new_home_at_once(tmp_path: Path) -> None:
    # Several stores creating the index of a fresh home together: none fails, none deletes the
    # index under the others (a busy database is waited for, not treated as corrupt).
    home = tmp_path / "home"
    script = (
        "import asyncio, sys, time\n"
        "from threadstore import ListThreadsParams\n"
        "from threadstore._backends.local import LocalThreadStore\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "async def main():\n"
        "    store = LocalThreadStore(sys.argv[1])\n"
        "    await store.list_threads(ListThreadsParams())\n"
        "    await store.close()\n"
        "asyncio.run(main())\n"
        "print('ok')\n"
    )
    start = time.time() + 0.5
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(home), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out.strip() == "ok"


async def test_a_busy_index_is_waited_for_not_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from threadstore import ListThreadsParams
    from threadstore._backends.local import LocalThreadStore

    home = tmp_path / "home"
    store = open_store(home)
    tid = await make_thread(store, "kept in the index")
    await store.close()
    real_connect = sqlite3.connect
    calls = {"n": 0}

    def busy_once(*args: Any, **kwargs: Any) -> sqlite3.Connection:  # sqlite3.connect's arguments, passed on
        calls["n"] += 1
        if calls["n"] == 1:
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = 5
            raise error
        connection: sqlite3.Connection = real_connect(*args, **kwargs)
        return connection

    monkeypatch.setattr(sqlite3, "connect", busy_once)  # the module the index opens its database with
    reopened = LocalThreadStore(home)
    monkeypatch.undo()
    try:
        assert calls["n"] == 2
        # The index survived: its row is there without re-reading the rollout.
        assert reopened._catalog.index.get(tid) is not None
        assert [t.thread_id for t in (await reopened.list_threads(ListThreadsParams())).items] == [tid]
    finally:
        await reopened.close()
