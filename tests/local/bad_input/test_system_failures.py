"""When the system fails the store (a file size limit stops a write midway, as a full disk does; the
database driver raises), the caller gets a ThreadStoreError and the store keeps what it had."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from threadstore import (
    AppendThreadItemsParams,
    Internal,
    ListThreadsParams,
    ReadThreadParams,
    ResumeThreadParams,
    ThreadNotFound,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore

from .._util import history, make_thread, numbered, numbers, open_store, snapshot, spawn


def _run_child(*args: str) -> list[dict[str, Any]]:
    proc = spawn(*args)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


async def test_file_size_limit_fails_cleanly_and_the_thread_resumes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    tid = await make_thread(store, "before the disk filled", shutdown=False)
    await store.append_items(AppendThreadItemsParams(tid, [numbered(n) for n in range(5)]))
    path = store.live_rollout_path(tid)
    await store.shutdown_thread(tid)
    await store.close()
    before = path.read_bytes()
    limit = len(before) + 2000

    report = _run_child("fill", str(home), tid, str(limit), "8000")
    big, small = report
    assert big["step"] == "big"
    assert big["error"] == "ResourceExhausted", big
    assert "limit" in big["message"] or "space" in big["message"]
    # The partial line was truncated away; the next item fits and lands on its own line.
    assert small == {"step": "small", "error": None}
    data = path.read_bytes()
    assert data.startswith(before)
    tail = data[len(before) :]
    assert tail.count(b"\n") == 1
    assert tail.endswith(b"\n")
    assert json.loads(tail)["payload"]["n"] == 1001

    store = open_store(home)
    try:
        assert numbers(await history(store, tid)) == [0, 1, 2, 3, 4, 1001]
        await store.resume_thread(ResumeThreadParams(thread_id=tid))
        await store.append_items(AppendThreadItemsParams(tid, [numbered(5)]))
        await store.shutdown_thread(tid)
        assert numbers(await history(store, tid)) == [0, 1, 2, 3, 4, 1001, 5]
    finally:
        await store.close()


async def test_file_size_limit_on_the_first_line_leaves_no_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    await make_thread(store, "existing")
    await store.close()
    before = snapshot(home)
    tid = new_thread_id()
    (first,) = _run_child("fill-new", str(home), tid, "40")
    assert first["step"] == "first"
    assert first["error"] == "ResourceExhausted", first
    assert snapshot(home) == before
    store = open_store(home)
    try:
        with pytest.raises(ThreadNotFound):
            await store.read_thread(ReadThreadParams(tid))
        assert len((await store.list_threads(ListThreadsParams())).items) == 1
    finally:
        await store.close()


def test_child_helper_is_importable() -> None:
    """The helper script runs with this interpreter (guards the subprocess tests above)."""
    proc = spawn("nonsense", "x", "y")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "unknown command" in err
    assert isinstance(proc, subprocess.Popen)


async def test_driver_errors_do_not_escape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalThreadStore(tmp_path / "home")
    try:

        def locked(*_: object, **__: object) -> list[tuple[object, ...]]:
            raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(store._catalog.index, "page", locked)
        with pytest.raises(Internal, match="database is locked"):
            await store.list_threads(ListThreadsParams())
    finally:
        monkeypatch.undo()
        await store.close()
