"""Runtime behaviour that needs a store with rollout files (the local store)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from threadstore import ThreadStore, items
from threadstore._backends.local import LocalThreadStore
from threadstore._contract.patch import ThreadMetadataPatch
from threadstore._contract.types import ReadThreadParams
from threadstore._runtime import ThreadConfig, ThreadManager
from threadstore.errors import InvalidRequest

from .support import run_turn


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def _thread_in_home(home: Path, cwd: str) -> tuple[str, Path]:
    store: ThreadStore = LocalThreadStore(home=home)
    try:
        manager = ThreadManager(store)
        thread = await manager.start_thread(ThreadConfig(cwd=cwd))
        path = thread.rollout_path
        await run_turn(thread, "written at home")
        await manager.shutdown_all()
    finally:
        await store.close()
    assert path is not None
    return thread.thread_id, Path(path)


async def test_rollout_path_is_the_live_file(tmp_path: Path) -> None:
    store = LocalThreadStore(home=tmp_path / "home")
    try:
        manager = ThreadManager(store)
        thread = await manager.start_thread(ThreadConfig(cwd=str(tmp_path)))
        assert thread.rollout_path == str(store.live_rollout_path(thread.thread_id))
        assert thread.session_configured["rollout_path"] == thread.rollout_path
        live = thread.live_thread
        assert live is not None
        assert live.local_rollout_path() == Path(thread.rollout_path)
        await run_turn(thread, "hello file")
        assert Path(thread.rollout_path).is_file()
        await manager.shutdown_all()
    finally:
        await store.close()


async def test_metadata_updates_on_a_thread_resumed_from_an_external_rollout(tmp_path: Path) -> None:
    thread_id, original = await _thread_in_home(tmp_path / "first-home", str(tmp_path))
    external_dir = tmp_path / "elsewhere"
    external_dir.mkdir()
    external = external_dir / original.name
    shutil.copy(original, external)

    store = LocalThreadStore(home=tmp_path / "other-home")
    try:
        manager = ThreadManager(store)
        thread = await manager.resume_thread(thread_id, rollout_path=external)
        assert Path(thread.rollout_path or "").resolve() == external.resolve()
        await run_turn(thread, "continued outside the home")
        updated = await manager.update_thread_metadata(thread_id, ThreadMetadataPatch(memory_mode="disabled"))
        assert updated.memory_mode == "disabled"
        stored = await store.read_thread(ReadThreadParams(thread_id, include_history=True))
        assert Path(stored.rollout_path or "").resolve() == external.resolve()
        assert stored.preview == "written at home"
        # rejoin with the same path works; another path is refused
        assert await manager.resume_thread(thread_id, rollout_path=external) is thread
        with pytest.raises(InvalidRequest, match="different rollout path"):
            await manager.resume_thread(thread_id, rollout_path=original)
        await manager.shutdown_all()
    finally:
        await store.close()

    written = lines(external)
    assert [r["payload"]["message"] for r in written if r["payload"].get("type") == "user_message"] == [
        "written at home",
        "continued outside the home",
    ]
    assert any(r["type"] == "session_meta" and r["payload"].get("memory_mode") == "disabled" for r in written[1:])
    # the original file was not touched
    assert len(lines(original)) < len(written)


async def test_resume_by_rollout_path_checks_the_thread_id(tmp_path: Path) -> None:
    thread_id, original = await _thread_in_home(tmp_path / "home", str(tmp_path))
    other_id, _ = await _thread_in_home(tmp_path / "home", str(tmp_path))
    store = LocalThreadStore(home=tmp_path / "home")
    try:
        manager = ThreadManager(store)
        with pytest.raises(InvalidRequest):
            await manager.resume_thread(other_id, rollout_path=original)
        thread = await manager.resume_thread(thread_id, rollout_path=original)
        await run_turn(thread, "by path")
        await manager.shutdown_all()
    finally:
        await store.close()
    assert items.is_event(
        {"type": lines(original)[-1]["type"], "payload": lines(original)[-1]["payload"]}, "task_complete"
    )


async def test_thread_files_are_codex_shaped(tmp_path: Path) -> None:
    _, path = await _thread_in_home(tmp_path / "home", str(tmp_path))
    records = lines(path)
    assert path.read_text().endswith("\n")
    first = records[0]
    assert first["type"] == "session_meta"
    for key in ("id", "timestamp", "cwd", "originator", "cli_version"):
        assert key in first["payload"]
    assert all({"timestamp", "type", "payload"} <= set(r) for r in records)
    context = next(r for r in records if r["type"] == "turn_context")["payload"]
    for key in ("cwd", "approval_policy", "sandbox_policy", "model", "summary"):
        assert key in context
