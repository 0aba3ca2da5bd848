"""Changes reported by the kernel (inotify): what the watcher reports, and a store that trusts it
still notices what other programs do, without looking at every directory."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from threadstore import ListThreadsParams, ReadThreadParams
from threadstore import _watch as watch_module
from threadstore._backends.local import LocalThreadStore
from threadstore._rollout.items import user_message
from threadstore._watch import Watcher, open_watcher

from ._util import append_bytes, make_thread

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


def _watcher(tmp_path: Path) -> Watcher:
    watcher = open_watcher(str(tmp_path))
    assert watcher is not None
    return watcher


def test_watcher_reports_entries_and_writes(tmp_path: Path) -> None:
    watcher = _watcher(tmp_path)
    try:
        assert watcher.watch(str(tmp_path))
        changes = watcher.changes()
        assert changes is not None
        assert not changes.directories
        assert not changes.files
        (tmp_path / "a.jsonl").write_text("x\n")
        changes = watcher.changes()
        assert changes is not None
        assert changes.directories == {str(tmp_path)}
        append_bytes(tmp_path / "a.jsonl", b"y\n")
        changes = watcher.changes()
        assert changes is not None
        assert changes.files == {str(tmp_path / "a.jsonl")}
        assert not changes.directories
        sub = tmp_path / "sub"
        sub.mkdir()
        assert watcher.watch(str(sub))
        shutil.rmtree(sub)
        changes = watcher.changes()
        assert changes is not None
        assert changes.directories == {str(tmp_path)}
        assert not watcher.watching(str(sub))
    finally:
        watcher.close()


def test_watcher_says_when_its_queue_overflowed(tmp_path: Path) -> None:
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    watcher = _watcher(tmp_path)
    try:
        assert watcher.watch(str(tmp_path))
        for n in range(limit + 10):
            (tmp_path / str(n)).touch()
        assert watcher.changes() is None
        assert watcher.healthy
        assert watcher.changes() is not None  # the queue is empty again
    finally:
        watcher.close()


def test_no_watcher_where_other_machines_change_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert watch_module.file_system_type(str(tmp_path)) is not None
    for kind in ("nfs4", "cifs", "fuse.sshfs"):
        monkeypatch.setattr(watch_module, "file_system_type", lambda path, kind=kind: kind)
        assert open_watcher(str(tmp_path)) is None
    monkeypatch.setattr(watch_module, "file_system_type", lambda path: "ext4")
    local = open_watcher(str(tmp_path))
    assert local is not None
    local.close()


def test_watcher_of_another_process_is_not_used(tmp_path: Path) -> None:
    watcher = _watcher(tmp_path)
    try:
        assert watcher.healthy
        pid = os.fork()
        if pid == 0:  # the child: the watcher is its parent's
            os._exit(0 if not watcher.healthy and not watcher.watch(str(tmp_path)) else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert watcher.healthy
    finally:
        watcher.close()


async def _trusted(store: LocalThreadStore) -> None:
    """Query until the store trusts its watcher: its first watches are set (on a thread of
    their own, waited for here), and a whole sweep passed."""
    await store.list_threads(ListThreadsParams(page_size=1))
    watcher = store._catalog.scanner._watch
    assert watcher is not None
    assert watcher._arming is not None
    watcher._arming.join()
    for _ in range(10):
        await store.list_threads(ListThreadsParams(page_size=1))
        if store._catalog.scanner.trusted:
            return
    raise AssertionError("the store never trusted its watcher")


def _line(item: dict[str, object], ts: str) -> bytes:
    return json.dumps({"timestamp": ts, **item}).encode() + b"\n"


async def test_a_store_trusting_its_watcher_notices_other_programs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = LocalThreadStore(home)
    try:
        ids = [await make_thread(store, f"thread {n}") for n in range(5)]
        await _trusted(store)
        # An append to a thread no page shows: only the watcher can tell.
        oldest = (await store.read_thread(ReadThreadParams(ids[0]))).rollout_path or ""
        append_bytes(Path(oldest), _line(user_message("much later"), "2099-01-01T00:00:00.000Z"))
        top = await store.list_threads(ListThreadsParams(page_size=1, sort_key="updated_at"))
        assert [t.thread_id for t in top.items] == [ids[0]]
        assert top.items[0].updated_at.year == 2099
        # A rollout copied into an old day directory, and one into a day directory of its own.
        copy = Path(oldest).read_bytes()
        old_day = home / "sessions" / "2020" / "05" / "06"
        old_day.mkdir(parents=True)
        other = "019a0000-0000-7000-8000-00000000000a"
        (old_day / f"rollout-2020-05-06T01-02-03-{other}.jsonl").write_bytes(
            copy.replace(ids[0].encode(), other.encode())
        )
        listed = {t.thread_id for t in (await store.list_threads(ListThreadsParams(page_size=50))).items}
        assert listed == {*ids, other}
        assert store._catalog.scanner.trusted
        another = "019a0000-0000-7000-8000-00000000000b"
        (old_day / f"rollout-2020-05-06T01-02-04-{another}.jsonl").write_bytes(
            copy.replace(ids[0].encode(), another.encode())
        )
        (old_day / f"rollout-2020-05-06T01-02-03-{other}.jsonl").unlink()
        listed = {t.thread_id for t in (await store.list_threads(ListThreadsParams(page_size=50))).items}
        assert listed == {*ids, another}
        assert store._catalog.scanner.trusted
    finally:
        await store.close()


async def test_a_watcher_out_of_watches_gives_way_to_looking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    store = LocalThreadStore(home)
    try:
        ids = [await make_thread(store, f"thread {n}") for n in range(3)]
        await _trusted(store)
        real = Watcher.watch

        def full(self: Watcher, directory: str) -> bool:
            if directory.endswith("2021/02/03"):
                self._broken = True  # as when the limit of watches is reached
                return False
            return real(self, directory)

        monkeypatch.setattr(watch_module.Watcher, "watch", full)
        day = home / "sessions" / "2021" / "02" / "03"
        day.mkdir(parents=True)
        source = Path((await store.read_thread(ReadThreadParams(ids[0]))).rollout_path or "")
        new = "019a0000-0000-7000-8000-00000000000c"
        (day / f"rollout-2021-02-03T01-02-03-{new}.jsonl").write_bytes(
            source.read_bytes().replace(ids[0].encode(), new.encode())
        )
        listed = {t.thread_id for t in (await store.list_threads(ListThreadsParams(page_size=50))).items}
        assert new in listed
        assert not store._catalog.scanner.trusted
        # Without the watcher, changes are still found (by looking).
        (day / f"rollout-2021-02-03T01-02-03-{new}.jsonl").unlink()
        listed = {t.thread_id for t in (await store.list_threads(ListThreadsParams(page_size=50))).items}
        assert listed == set(ids)
    finally:
        await store.close()
