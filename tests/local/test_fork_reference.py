"""Forks of paginated threads are forks by reference; the local store writes the ``history_base``
Codex 0.169 resumes them by (the cut's byte offset in the parent's rollout)."""

from __future__ import annotations

import shutil
from pathlib import Path

from threadstore import InMemoryThreadStore
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.local.layout import thread_id_from_name
from threadstore._contract.types import LoadThreadHistoryParams
from threadstore._runtime import ThreadConfig, ThreadManager
from threadstore.transfer import read_record, write_record

from ..fixtures import CODEX_HOME_0169

PARENT = "01a211bf-a31b-7483-a567-3a0de6dc90fd"


def _rollout(home: Path, thread_id: str) -> Path:
    return next(p for p in home.rglob("rollout-*.jsonl") if thread_id_from_name(p.name) == thread_id)


async def test_forks_of_paginated_threads_point_into_the_parent_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(CODEX_HOME_0169, home)
    raw = _rollout(home, PARENT).read_bytes()
    line_starts = [0, *(i + 1 for i, byte in enumerate(raw) if byte == ord("\n"))][:-1]
    async with LocalThreadStore(home) as store:
        manager = ThreadManager(store)
        whole = await manager.fork_thread(PARENT)
        second = await manager.fork_thread(PARENT, nth_user_message=1)
        assert (await manager.shutdown_all(timeout=10)).all_stopped
        parent = await store.load_history(LoadThreadHistoryParams(PARENT))
        for fork in (whole, second):
            own = await store.load_history(LoadThreadHistoryParams(fork.thread_id, resolve_forks=False))
            (first,) = own.items  # nothing but the reference line
            base = first["payload"]["history_base"]
            cut = first["payload"]["forked_from_ordinal_exclusive"]
            assert first["ordinal"] == cut == base["end_ordinal_exclusive"]
            assert base["thread_id"] == PARENT
            kept = [item for item in parent.items if item["ordinal"] < cut]
            assert base["end_byte_offset"] == (len(raw) if len(kept) == len(parent.items) else line_starts[len(kept)])
            resolved = await store.load_history(LoadThreadHistoryParams(fork.thread_id))
            assert resolved.items[1:] == kept
        starts = [
            i["ordinal"] for i in parent.items if i["type"] == "event_msg" and i["payload"]["type"] == "task_started"
        ]
        second_own = await store.load_history(LoadThreadHistoryParams(second.thread_id, resolve_forks=False))
        assert second_own.items[0]["payload"]["forked_from_ordinal_exclusive"] == starts[1]

        # Other stores keep the reference without a file offset; an exact copy keeps each as it is.
        memory = InMemoryThreadStore()
        for thread_id in (PARENT, whole.thread_id):
            assert (await write_record(memory, await read_record(store, thread_id))).notes == []
        copied = await read_record(memory, whole.thread_id)
        assert "history_base" in copied.lines[0]["payload"]


async def test_forks_of_legacy_threads_still_copy(tmp_path: Path) -> None:
    store = InMemoryThreadStore()
    manager = ThreadManager(store)
    thread = await manager.start_thread(ThreadConfig(cwd=str(tmp_path)))
    await thread.submit({"type": "user_input", "items": [{"type": "text", "text": "hi"}]})
    while (await thread.next_event()).type != "task_complete":
        pass
    fork = await manager.fork_thread(thread.thread_id)
    assert (await manager.shutdown_all(timeout=10)).all_stopped
    own = await store.load_history(LoadThreadHistoryParams(fork.thread_id, resolve_forks=False))
    assert "forked_from_ordinal_exclusive" not in own.items[0]["payload"]
    assert len(own.items) > 1
    assert all("ordinal" not in item for item in own.items)
