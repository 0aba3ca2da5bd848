"""Threads resumed from a rollout outside the home, or from the archive, and threads live in
another process."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from threadstore import (
    AppendThreadItemsParams,
    Conflict,
    InvalidRequest,
    ListThreadsParams,
    LoadThreadHistoryParams,
    ReadThreadParams,
    ResumeThreadParams,
    ThreadMetadataPatch,
    UpdateThreadMetadataParams,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._rollout.items import user_message

from ._util import history, make_thread, numbered, numbers, open_store, rollout_files, snapshot, spawn


async def _external_copy(tmp_path: Path) -> tuple[Path, Path, str]:
    """A home with no threads, and a thread's rollout that lives elsewhere."""
    source_home = tmp_path / "elsewhere-home"
    store = open_store(source_home)
    tid = await make_thread(store, "from outside")
    source = Path((await store.read_thread(ReadThreadParams(tid))).rollout_path or "")
    await store.close()
    outside = tmp_path / "outside" / source.name
    outside.parent.mkdir()
    shutil.move(source, outside)
    home = tmp_path / "home"
    return home, outside, tid


async def test_external_rollout_gets_appends_and_metadata(tmp_path: Path) -> None:
    home, outside, tid = await _external_copy(tmp_path)
    store = open_store(home)
    try:
        await store.resume_thread(ResumeThreadParams(thread_id=tid, rollout_path=str(outside)))
        assert store.live_rollout_path(tid) == outside
        await store.append_items(AppendThreadItemsParams(tid, [numbered(0), user_message("second")]))
        await store.flush_thread(tid)
        # Reads use the live (external) path.
        items = (await store.load_history(LoadThreadHistoryParams(tid))).items
        assert numbers(items) == [0]
        assert items[-1] == user_message("second")
        thread = await store.read_thread(ReadThreadParams(tid, include_history=True))
        assert thread.rollout_path == str(outside)
        assert thread.history is not None
        assert thread.history.items == items

        updated = await store.update_thread_metadata(
            UpdateThreadMetadataParams(tid, ThreadMetadataPatch(name="outside name", memory_mode="disabled"))
        )
        assert updated.name == "outside name"
        assert updated.memory_mode == "disabled"
        assert updated.rollout_path == str(outside)
        await store.append_items(AppendThreadItemsParams(tid, [numbered(1)]))
        await store.shutdown_thread(tid)
    finally:
        await store.close()
    # Everything went to the external file; the home got no rollout of its own.
    lines = [json.loads(line) for line in outside.read_bytes().splitlines()]
    assert [ln["payload"].get("n") for ln in lines if ln["type"] == "response_item"] == [0, 1]
    assert any(ln["type"] == "event_msg" and ln["payload"].get("thread_name") == "outside name" for ln in lines)
    metas = [ln for ln in lines if ln["type"] == "session_meta"]
    assert metas[-1]["payload"]["memory_mode"] == "disabled"
    assert metas[-1]["payload"]["id"] == tid
    assert rollout_files(home) == []
    # A new store reading the external file sees the same.
    fresh = open_store(home)
    try:
        thread = await fresh.read_thread(ReadThreadParams(tid))
        assert thread.name == "outside name"
        assert thread.memory_mode == "disabled"
        assert thread.rollout_path == str(outside)
    finally:
        await fresh.close()


async def test_external_rollout_relative_path_is_from_the_home(tmp_path: Path) -> None:
    home, outside, tid = await _external_copy(tmp_path)
    store = open_store(home)
    try:
        await store.resume_thread(ResumeThreadParams(thread_id=tid, rollout_path=f"../outside/{outside.name}"))
        assert store.live_rollout_path(tid) == outside
        await store.append_items(AppendThreadItemsParams(tid, [numbered(0)]))
        await store.shutdown_thread(tid)
        assert numbers(await history(store, tid)) == [0]
    finally:
        await store.close()


async def test_resumed_from_archive_stays_archived(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    try:
        tid = await make_thread(store, "archived talk")
        await store.archive_thread(tid)
        archived = Path((await store.read_thread(ReadThreadParams(tid, include_archived=True))).rollout_path or "")
        assert archived.parent == home / "archived_sessions"
        with pytest.raises(InvalidRequest, match="archived"):
            await store.resume_thread(ResumeThreadParams(thread_id=tid, rollout_path=str(archived)))
        with pytest.raises(InvalidRequest, match="archived"):
            await store.resume_thread(ResumeThreadParams(thread_id=tid))
        await store.resume_thread(ResumeThreadParams(thread_id=tid, rollout_path=str(archived), include_archived=True))
        await store.append_items(AppendThreadItemsParams(tid, [numbered(0)]))
        await store.flush_thread(tid)
        for read in (
            lambda: store.read_thread(ReadThreadParams(tid)),
            lambda: store.load_history(LoadThreadHistoryParams(tid)),
        ):
            with pytest.raises(InvalidRequest, match="archived"):
                await read()
        assert numbers((await store.load_history(LoadThreadHistoryParams(tid, include_archived=True))).items) == [0]
        updated = await store.update_thread_metadata(
            UpdateThreadMetadataParams(tid, ThreadMetadataPatch(name="still archived"), include_archived=True)
        )
        assert updated.archived_at is not None
        assert updated.name == "still archived"
        with pytest.raises(InvalidRequest, match="archived"):
            await store.update_thread_metadata(UpdateThreadMetadataParams(tid, ThreadMetadataPatch(name="no")))
        with pytest.raises(InvalidRequest, match="archived"):
            await store.read_thread(ReadThreadParams(tid))
        await store.shutdown_thread(tid)
        with pytest.raises(InvalidRequest, match="archived"):
            await store.read_thread(ReadThreadParams(tid))
        assert [t.thread_id for t in (await store.list_threads(ListThreadsParams(archived=True))).items] == [tid]
        assert (await store.list_threads(ListThreadsParams())).items == []
        assert rollout_files(home) == [archived]
    finally:
        await store.close()


def _start_holder(home: Path, tid: str) -> subprocess.Popen[str]:
    """A child process that resumes ``tid`` and keeps it live until told to go on."""
    proc = spawn("race", str(home), tid, str(time.time()), "3", stdin=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert json.loads(line) == {"result": "won"}, (line, proc.stderr.read() if proc.stderr else "")
    return proc


def _release_holder(proc: subprocess.Popen[str]) -> None:
    try:
        if proc.poll() is None and proc.stdin is not None:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


async def test_archive_and_unarchive_of_a_thread_live_elsewhere(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    tid = await make_thread(store, "busy elsewhere")
    other = await make_thread(store, "archived while idle")
    await store.archive_thread(other)

    proc = _start_holder(home, tid)
    try:
        before = snapshot(home)
        with pytest.raises(Conflict):
            await store.archive_thread(tid)
        with pytest.raises(Conflict):
            await store.delete_thread(tid)
        with pytest.raises(Conflict):
            await store.resume_thread(ResumeThreadParams(thread_id=tid))
        assert snapshot(home) == before
        # Metadata updates and reads of a thread live elsewhere: reads work.
        assert (await store.read_thread(ReadThreadParams(tid))).first_user_message == "busy elsewhere"
    finally:
        _release_holder(proc)

    await store.archive_thread(tid)
    proc = _start_holder_archived(home, other)
    try:
        with pytest.raises(Conflict):
            await store.unarchive_thread(other)
    finally:
        _release_holder(proc)
    assert (await store.unarchive_thread(other)).archived_at is None
    await store.close()


def _start_holder_archived(home: Path, tid: str) -> subprocess.Popen[str]:
    """Hold an archived thread live in a child process (resumed with include_archived)."""
    code = (
        "import asyncio, json, sys\n"
        "from threadstore import ResumeThreadParams\n"
        "from threadstore._backends.local import LocalThreadStore\n"
        "async def main():\n"
        "    s = LocalThreadStore(sys.argv[1])\n"
        "    await s.resume_thread(ResumeThreadParams(thread_id=sys.argv[2], include_archived=True))\n"
        "    print(json.dumps({'result': 'won'}), flush=True)\n"
        "    sys.stdin.readline()\n"
        "    await s.close()\n"
        "asyncio.run(main())\n"
    )
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(home), tid],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert json.loads(line) == {"result": "won"}, (line, proc.stderr.read() if proc.stderr else "")
    return proc


async def test_metadata_update_of_a_thread_live_elsewhere_is_refused(tmp_path: Path) -> None:
    """A cold update would write the rollout under another process's live writer."""
    home = tmp_path / "home"
    store = open_store(home)
    tid = await make_thread(store, "live elsewhere")
    proc = _start_holder(home, tid)
    try:
        before = snapshot(home)
        with pytest.raises(Conflict):
            await store.update_thread_metadata(
                UpdateThreadMetadataParams(tid, ThreadMetadataPatch(memory_mode="disabled"))
            )
        assert snapshot(home) == before
    finally:
        _release_holder(proc)
    updated = await store.update_thread_metadata(UpdateThreadMetadataParams(tid, ThreadMetadataPatch(name="later")))
    assert updated.name == "later"
    assert numbers(await history(store, tid)) == [0, 1, 2]
    await store.close()


async def test_external_resume_requires_a_rollout_of_that_thread(tmp_path: Path) -> None:
    home, outside, tid = await _external_copy(tmp_path)
    renamed = outside.with_name("copy.jsonl")  # no id in the name: only the content can tell
    shutil.copy(outside, renamed)
    store = LocalThreadStore(home)
    try:
        before = renamed.read_bytes()
        with pytest.raises(InvalidRequest, match="not a rollout of thread"):
            await store.resume_thread(ResumeThreadParams(thread_id=new_thread_id(), rollout_path=str(renamed)))
        with pytest.raises(InvalidRequest):
            await store.resume_thread(ResumeThreadParams(thread_id=new_thread_id(), rollout_path=str(outside)))
        # The right thread resumes from the renamed copy.
        await store.resume_thread(ResumeThreadParams(thread_id=tid, rollout_path=str(renamed)))
        await store.append_items(AppendThreadItemsParams(tid, [numbered(0)]))
        await store.shutdown_thread(tid)
        assert renamed.read_bytes().startswith(before)
        assert numbers(await history(store, tid)) == [0]
    finally:
        await store.close()
