"""Idempotency keys of the local store are kept beside the thread: a record counts only while the
rollout holds the lines it names, and the keys go with the thread when it is deleted."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from threadstore import AppendThreadItemsParams, ResourceExhausted, ResumeThreadParams
from threadstore._backends.local import LocalThreadStore, writer
from threadstore._backends.local.files import write_all
from threadstore._rollout.items import Item, user_message

from ._util import history, make_thread


def _keys_file(home: Path, thread_id: str) -> Path:
    return home / ".threadstore" / "keys" / f"{thread_id}.jsonl"


async def _keyed(store: LocalThreadStore, thread_id: str, text: str, key: str) -> None:
    await store.append_items(AppendThreadItemsParams(thread_id, [user_message(text)], idempotency_key=key))


def _texts(items: list[Item]) -> list[object]:
    """The texts of the user messages after the first line."""
    return [item["payload"].get("message") for item in items[1:]]


async def test_a_record_whose_lines_never_reached_the_rollout_is_ignored(tmp_path: Path) -> None:
    """A crash between the key's record and the lines leaves a record naming bytes the rollout
    does not hold: the retry after the restart stores its lines, once."""
    home = tmp_path / "home"
    async with LocalThreadStore(home) as store:
        tid = await make_thread(store, "hello")
    rollout = next((home / "sessions").rglob("*.jsonl"))
    size = rollout.stat().st_size
    record = {"key": "lost", "digest": "0" * 32, "offset": size, "length": 120, "check": "0" * 32}
    keys = _keys_file(home, tid)
    keys.parent.mkdir(parents=True, exist_ok=True)
    keys.write_bytes(json.dumps(record).encode() + b"\n" + b'{"key": "torn')
    async with LocalThreadStore(home) as store:
        await store.resume_thread(ResumeThreadParams(thread_id=tid))
        await _keyed(store, tid, "retried", "lost")
        await _keyed(store, tid, "retried", "lost")
        await store.shutdown_thread(tid)
        assert _texts(await history(store, tid)) == ["hello", "retried"]


async def test_a_failed_append_leaves_no_key_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lines of a keyed append fail to reach the disk (it is full) and later appends fill
    their place: after a restart, the key's retry is stored, not taken for done."""
    home = tmp_path / "home"
    calls = {"n": 0}

    def full_once(fd: int, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        write_all(fd, data)

    async with LocalThreadStore(home) as store:
        tid = await make_thread(store, "hello", shutdown=False)
        monkeypatch.setattr(writer, "write_all", full_once)
        with pytest.raises(ResourceExhausted):
            await _keyed(store, tid, "retried", "k")
        monkeypatch.setattr(writer, "write_all", write_all)
        await _keyed(store, tid, "filler of the same size", "other")
        await store.shutdown_thread(tid)
    async with LocalThreadStore(home) as store:
        await store.resume_thread(ResumeThreadParams(thread_id=tid))
        await _keyed(store, tid, "retried", "k")
        await store.shutdown_thread(tid)
        assert _texts(await history(store, tid)) == ["hello", "filler of the same size", "retried"]


async def test_keys_are_removed_with_the_thread(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with LocalThreadStore(home) as store:
        tid = await make_thread(store, "hello", shutdown=False)
        await _keyed(store, tid, "more", "k")
        await store.shutdown_thread(tid)
        assert _keys_file(home, tid).is_file()
        await store.delete_thread(tid)
        assert not _keys_file(home, tid).exists()
