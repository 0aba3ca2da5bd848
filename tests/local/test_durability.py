"""What survives a crash, and what a torn or corrupt rollout still yields.

* A writer killed with SIGKILL in the middle of heavy appends loses nothing that ``flush_thread``
  acknowledged; the thread stays readable and can be resumed (the dead writer's lock is gone).
* Torn tails, NUL runs, invalid UTF-8 and garbage lines are skipped without hiding the lines
  after them, and the next append starts on a fresh line.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.fixtures import CODEX_HOME_0125
from threadstore import (
    AppendThreadItemsParams,
    ListThreadsParams,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    new_thread_id,
)
from threadstore._rollout.items import agent_message, user_message

from ._util import append_bytes, history, make_thread, numbered, numbers, open_store, spawn

# -- kill -9 during heavy appends ----------------------------------------------------------------


def _follow_acks(proc: object, seconds: float, min_acks: int) -> int:
    """Read ``{"acked": n}`` lines for ``seconds`` (longer if fewer than ``min_acks`` came)."""
    import subprocess

    assert isinstance(proc, subprocess.Popen)
    assert proc.stdout is not None
    last = -1
    count = 0
    deadline = time.monotonic() + seconds
    hard_deadline = time.monotonic() + 20
    while time.monotonic() < hard_deadline and (time.monotonic() < deadline or count < min_acks):
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if not ready:
            if proc.poll() is not None:
                raise AssertionError(f"writer exited early: {proc.stderr.read() if proc.stderr else ''}")
            continue
        line = proc.stdout.readline()
        if not line:
            break
        last = json.loads(line)["acked"]
        count += 1
    return last


@pytest.mark.parametrize("fsync", [False, True], ids=["no-fsync", "fsync"])
async def test_kill9_keeps_every_acknowledged_item(tmp_path: Path, fsync: bool) -> None:
    home = tmp_path / "home"
    tid = new_thread_id()
    proc = spawn("append-forever", str(home), tid, "1" if fsync else "0")
    try:
        acked = _follow_acks(proc, seconds=1.0, min_acks=20)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert proc.returncode == -signal.SIGKILL
    assert acked >= 19

    store = open_store(home, fsync=fsync)
    try:
        thread = await store.read_thread(ReadThreadParams(tid, include_history=True))
        assert thread.history is not None
        got = numbers(thread.history.items)
        # Every acknowledged item, in order, no duplicates; items written after the last
        # acknowledgement may be there too, but only as a gap-free continuation.
        assert got == list(range(len(got)))
        assert len(got) > acked
        assert thread.first_user_message == "kill me"
        # Every line of the file parses (a SIGKILL cannot tear a single write(2)).
        lines = Path(thread.rollout_path or "").read_bytes().split(b"\n")
        assert lines[-1] == b""
        for line in lines[:-1]:
            json.loads(line)

        # The killed writer's lock died with it: the thread resumes and takes new items.
        await store.resume_thread(ResumeThreadParams(thread_id=tid))
        await store.append_items(AppendThreadItemsParams(tid, [numbered(len(got))]))
        await store.shutdown_thread(tid)
        assert numbers(await history(store, tid)) == list(range(len(got) + 1))
        page = await store.list_threads(ListThreadsParams())
        assert [t.thread_id for t in page.items] == [tid]
    finally:
        await store.close()


# -- torn and corrupt rollouts -------------------------------------------------------------------


async def _corrupt_thread(tmp_path: Path, damage: bytes) -> tuple[Path, str, Path]:
    """A cold thread whose file is: meta, user message, ``damage``, agent message, numbered(7)."""
    home = tmp_path / "home"
    store = open_store(home)
    tid = await make_thread(store, "before the damage", shutdown=False)
    path = store.live_rollout_path(tid)
    await store.shutdown_thread(tid)
    await store.close()
    append_bytes(
        path,
        damage,
        b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg","payload":{"type":"agent_message","message":"after the damage"}}\n',
        json.dumps({"timestamp": "2026-01-01T00:00:01.000Z", **numbered(7)}).encode() + b"\n",
    )
    return home, tid, path


DAMAGE = {
    "nul-run": b"\x00" * 4096,
    "nul-run-then-newline": b"\x00" * 300 + b"\n",
    "torn-line": b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg","payload":{"ty\n',
    "invalid-utf8": b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg","payload":{"type":"user_message","message":"\xff\xfe bad"}}\n',
    "garbage": b'not json at all\n[1,2,3]\n{"no_type": true}\n"string"\n\xc3\x28\x00garbage\n',
    "lone-surrogate-escape": b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"event_msg","payload":{"type":"user_message","message":"bad \\ud800 half"}}\n',
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
async def test_corrupt_lines_never_hide_later_lines(tmp_path: Path, damage: bytes) -> None:
    home, tid, path = await _corrupt_thread(tmp_path, damage)
    store = open_store(home)
    try:
        items = await history(store, tid)
        kinds = [i["type"] for i in items]
        assert kinds[0] == "session_meta"
        assert user_message("before the damage") in items
        assert any(i["payload"].get("message") == "after the damage" for i in items)
        assert numbers(items) == [7]
        # Nothing from the damage comes back as an item.
        assert all(isinstance(i, dict) and isinstance(i.get("type"), str) for i in items)
        assert not any(i["payload"].get("message") in ("bad \ud800 half",) for i in items)

        thread = await store.read_thread(ReadThreadParams(tid, include_history=True))
        assert thread.history is not None
        assert thread.history.items == items
        assert thread.first_user_message == "before the damage"
        by_path = await store.read_thread_by_rollout_path(
            ReadThreadByRolloutPathParams(str(path), include_history=True)
        )
        assert by_path.history is not None
        assert by_path.history.items == items
        page = await store.list_threads(ListThreadsParams())
        assert [t.thread_id for t in page.items] == [tid]
        hits = await store.search_threads(SearchThreadsParams("after the damage"))
        assert [h.thread.thread_id for h in hits.items] == [tid]
        report = await store.reindex()
        assert report.threads == 1
        assert report.unreadable_files == 0
        assert report.skipped_lines >= (1 if damage.strip(b"\x00\n") else 0)

        # Resuming and appending starts on a fresh line: the new items parse.
        await store.resume_thread(ResumeThreadParams(thread_id=tid))
        await store.append_items(AppendThreadItemsParams(tid, [numbered(8), agent_message("resumed")]))
        await store.shutdown_thread(tid)
        after = await history(store, tid)
        assert after[: len(items)] == items
        assert numbers(after) == [7, 8]
        assert after[-1] == agent_message("resumed")
    finally:
        await store.close()
    # A fresh store (fresh index) reads the same.
    fresh = open_store(home)
    try:
        assert numbers(await history(fresh, tid)) == [7, 8]
    finally:
        await fresh.close()


TORN_TAILS = {
    "partial-line": b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"response_item","payload":{"type":"mess',
    "nul-padding": b"\x00" * 512,
    "partial-then-nul": b'{"timestamp":"2026-01-01T00:0' + b"\x00" * 100,
}


@pytest.mark.parametrize("tail", TORN_TAILS.values(), ids=TORN_TAILS.keys())
async def test_torn_tail_then_resume_starts_a_fresh_line(tmp_path: Path, tail: bytes) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    tid = await make_thread(store, "torn", shutdown=False)
    await store.append_items(AppendThreadItemsParams(tid, [numbered(0)]))
    path = store.live_rollout_path(tid)
    await store.shutdown_thread(tid)
    # The index knows the thread before the crash damage appears.
    assert [t.thread_id for t in (await store.list_threads(ListThreadsParams())).items] == [tid]
    append_bytes(path, tail)
    try:
        assert numbers(await history(store, tid)) == [0]
        assert [t.thread_id for t in (await store.list_threads(ListThreadsParams())).items] == [tid]
        await store.resume_thread(ResumeThreadParams(thread_id=tid))
        await store.append_items(AppendThreadItemsParams(tid, [numbered(1)]))
        await store.append_items(AppendThreadItemsParams(tid, [numbered(2), user_message("after the tear")]))
        await store.shutdown_thread(tid)
        assert numbers(await history(store, tid)) == [0, 1, 2]
        page = await store.list_threads(ListThreadsParams(sort_key="updated_at"))
        assert [t.thread_id for t in page.items] == [tid]
        hits = await store.search_threads(SearchThreadsParams("after the tear"))
        assert [h.thread.thread_id for h in hits.items] == [tid]
    finally:
        await store.close()
    data = path.read_bytes()
    assert data.endswith(b"\n")
    # The tail stayed where it was, and the new lines start after a newline of their own.
    assert tail in data
    assert data.index(tail) + len(tail) == data.index(b"\n", data.index(tail))
    fresh = open_store(home)
    try:
        assert numbers(await history(fresh, tid)) == [0, 1, 2]
        assert [t.thread_id for t in (await fresh.list_threads(ListThreadsParams())).items] == [tid]
    finally:
        await fresh.close()


async def test_thread_whose_only_line_is_torn_is_skipped_until_completed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    good = await make_thread(store, "good")
    src = Path((await store.read_thread(ReadThreadParams(good))).rollout_path or "")
    bad_id = new_thread_id()
    bad = src.with_name(src.name.replace(good, bad_id))
    head = b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"session_meta","payload":{"id":"' + bad_id.encode()
    bad.write_bytes(head)
    try:
        page = await store.list_threads(ListThreadsParams())
        assert [t.thread_id for t in page.items] == [good]
        assert await history(store, bad_id) == []
        # The writer of that file finishes its line and goes on: the thread appears whole.
        append_bytes(
            bad,
            b'","timestamp":"2026-01-01T00:00:00.000Z","cwd":"/w","source":"cli","model_provider":"p"}}\n',
            json.dumps({"timestamp": "2026-01-01T00:00:01.000Z", **user_message("finished")}).encode() + b"\n",
        )
        page = await store.list_threads(ListThreadsParams())
        assert {t.thread_id for t in page.items} == {good, bad_id}
        thread = await store.read_thread(ReadThreadParams(bad_id))
        assert thread.first_user_message == "finished"
        assert [i["type"] for i in await history(store, bad_id)] == ["session_meta", "event_msg"]
    finally:
        await store.close()


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\r", "\x85", "\x0b\x0c\x1c"])
async def test_unicode_line_separators_are_data(tmp_path: Path, separator: str) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    text = f"one{separator}two{separator}three"
    tid = await make_thread(store, text, shutdown=False)
    await store.append_items(AppendThreadItemsParams(tid, [agent_message(text), numbered(1)]))
    path = store.live_rollout_path(tid)
    await store.shutdown_thread(tid)
    try:
        raw = path.read_bytes()
        if separator in ("\u2028", "\u2029"):
            assert separator.encode() in raw  # written raw, not escaped
        assert raw.count(b"\n") == 4  # meta, user message, agent message, numbered
        items = await history(store, tid)
        assert items[1:] == [user_message(text), agent_message(text), numbered(1)]
        thread = await store.read_thread(ReadThreadParams(tid))
        assert thread.first_user_message == text
    finally:
        await store.close()
    fresh = open_store(home)
    try:
        assert (await history(fresh, tid))[1:] == [user_message(text), agent_message(text), numbered(1)]
    finally:
        await fresh.close()


async def test_copied_codex_rollout_with_damage_is_still_read(tmp_path: Path) -> None:
    """A real Codex rollout with a NUL run spliced in the middle keeps all its other lines."""
    fixtures = CODEX_HOME_0125
    home = tmp_path / "home"
    shutil.copytree(fixtures, home)
    source = sorted((home / "sessions").rglob("*.jsonl"))[0]
    lines = source.read_bytes().split(b"\n")
    store = open_store(home)
    try:
        tid = source.name[-42:-6]
        before = await history(store, tid)
        damaged = [*lines[:5], b"\x00" * 1000 + lines[5][: len(lines[5]) // 2], *lines[6:]]
        source.write_bytes(b"\n".join(damaged))
        after = await history(store, tid)
        assert len(after) == len(before) - 1
        assert after[:5] == before[:5]
        assert after[5:] == before[6:]
    finally:
        await store.close()


async def test_skipped_lines_are_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from threadstore import CreateThreadParams, LoadThreadHistoryParams
    from threadstore._backends.local import LocalThreadStore

    store = LocalThreadStore(tmp_path / "home")
    try:
        tid = new_thread_id()
        await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
        await store.append_items(AppendThreadItemsParams(tid, [user_message("before")]))
        path = store.live_rollout_path(tid)
        await store.shutdown_thread(tid)
        append_bytes(path, b'{"torn": \n' + b"\x00" * 16 + b"\n")
        with caplog.at_level(logging.WARNING, logger="threadstore.local"):
            history = await store.load_history(LoadThreadHistoryParams(tid))
        assert len(history.items) == 2
        assert "skipped 2 unreadable line(s)" in caplog.text
    finally:
        await store.close()
