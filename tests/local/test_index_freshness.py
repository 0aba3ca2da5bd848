"""The SQLite index is a cache: it notices what other programs do to the files, and rebuilds."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TypedDict, Unpack

import pytest

from tests.fixtures import CODEX_HOME_0125 as FIXTURE
from threadstore import (
    AppendThreadItemsParams,
    InvalidRequest,
    ListThreadsParams,
    ReadThreadParams,
    SearchThreadsParams,
    StoredThread,
    ThreadMetadataPatch,
    ThreadNotFound,
    UpdateThreadMetadataParams,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._contract.types import SortDirection, ThreadSortKey
from threadstore._rollout.items import user_message

from ._util import append_bytes, history, make_thread, numbered, open_store, rewrite_in_place


def _ids(threads: list[StoredThread]) -> list[str]:
    return [t.thread_id for t in threads]


class _Listing(TypedDict, total=False):
    """What these tests choose of a listing."""

    sort_key: ThreadSortKey
    sort_direction: SortDirection
    page_size: int
    archived: bool


async def _list(store: LocalThreadStore, **listing: Unpack[_Listing]) -> list[StoredThread]:
    return (await store.list_threads(ListThreadsParams(**listing))).items


async def _path(store: LocalThreadStore, tid: str, include_archived: bool = False) -> Path:
    return Path((await store.read_thread(ReadThreadParams(tid, include_archived=include_archived))).rollout_path or "")


def _line(item: Mapping[str, object], ts: str) -> bytes:
    return json.dumps({"timestamp": ts, **item}).encode() + b"\n"


async def test_copied_codex_rollout_appears(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    try:
        own = await make_thread(store, "own thread")
        assert _ids(await _list(store)) == [own]
        source = sorted((FIXTURE / "sessions").rglob("rollout-*.jsonl"))[0]
        day = home / "sessions" / "2026" / "11" / "25"
        day.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, day / source.name)
        copied = source.name[-42:-6]
        listed = await _list(store)
        assert set(_ids(listed)) == {own, copied}
        thread = await store.read_thread(ReadThreadParams(copied))
        assert thread.cli_version == "0.125.0"
        assert thread.rollout_path == str(day / source.name)
        # A copy into a day directory that did not exist yet is noticed as well.
        second = sorted((FIXTURE / "sessions").rglob("rollout-*.jsonl"))[1]
        other_day = home / "sessions" / "2019" / "01" / "02"
        other_day.mkdir(parents=True)
        shutil.copy(second, other_day / second.name)
        assert set(_ids(await _list(store))) == {own, copied, second.name[-42:-6]}
    finally:
        await store.close()


async def test_hand_appended_line_is_noticed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    try:
        older = await make_thread(store, "older")
        newer = await make_thread(store, "newer")
        assert _ids(await _list(store, sort_key="updated_at")) == [newer, older]
        path = await _path(store, older)
        append_bytes(path, _line(user_message("typed by hand"), "2099-01-01T00:00:00.000Z"))
        items = await history(store, older)
        assert items[-1] == user_message("typed by hand")
        # The appended line moves the thread to the front of the updated_at order.
        listed = await _list(store, sort_key="updated_at")
        assert _ids(listed) == [older, newer]
        assert listed[0].updated_at.year == 2099
        hits = await store.search_threads(SearchThreadsParams("typed by hand"))
        assert _ids([h.thread for h in hits.items]) == [older]
        # Appends by hand to many threads are noticed too (not only those on the page).
        more = [await make_thread(store, f"bulk {i}") for i in range(5)]
        assert len(await _list(store)) == 7
        for tid in more:
            append_bytes(await _path(store, tid), _line(user_message(f"late {tid}"), "2098-01-01T00:00:00.000Z"))
        top = await _list(store, sort_key="updated_at", page_size=6)
        assert set(_ids(top[1:])) == set(more)
    finally:
        await store.close()


async def test_hand_deleted_file_disappears(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    try:
        keep = await make_thread(store, "keep")
        gone = await make_thread(store, "gone")
        assert set(_ids(await _list(store))) == {keep, gone}
        (await _path(store, gone)).unlink()
        assert _ids(await _list(store)) == [keep]
        with pytest.raises(ThreadNotFound):
            await store.read_thread(ReadThreadParams(gone))
        assert (await store.search_threads(SearchThreadsParams("gone"))).items == []
        # Removing a whole day directory as well.
        shutil.rmtree((await _path(store, keep)).parent)
        assert _ids(await _list(store)) == []
    finally:
        await store.close()


async def test_hand_moved_file_changes_collection(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    try:
        stay = await make_thread(store, "stay")
        move = await make_thread(store, "move")
        assert set(_ids(await _list(store))) == {stay, move}
        source = await _path(store, move)
        (home / "archived_sessions").mkdir(exist_ok=True)
        target = home / "archived_sessions" / source.name
        os.rename(source, target)
        assert _ids(await _list(store)) == [stay]
        assert _ids(await _list(store, archived=True)) == [move]
        with pytest.raises(InvalidRequest, match="archived"):
            await store.read_thread(ReadThreadParams(move))
        thread = await store.read_thread(ReadThreadParams(move, include_archived=True))
        assert thread.archived_at is not None
        assert thread.rollout_path == str(target)
        # And back by hand.
        os.rename(target, source)
        assert set(_ids(await _list(store))) == {stay, move}
        assert _ids(await _list(store, archived=True)) == []
        assert (await store.read_thread(ReadThreadParams(move))).archived_at is None
    finally:
        await store.close()


@pytest.mark.parametrize("how", ["replace", "in-place-same-size", "in-place-longer", "in-place-shorter"])
async def test_hand_edited_session_index_renames(tmp_path: Path, how: str) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    try:
        tid = await make_thread(store, "to rename")
        other = await make_thread(store, "other")
        await store.update_thread_metadata(UpdateThreadMetadataParams(tid, ThreadMetadataPatch(name="abc")))
        await store.update_thread_metadata(UpdateThreadMetadataParams(other, ThreadMetadataPatch(name="other name")))
        assert (await store.read_thread(ReadThreadParams(tid))).name == "abc"
        index = home / "session_index.jsonl"
        new_name = {"replace": "renamed", "in-place-same-size": "xyz", "in-place-longer": "a much longer name"}.get(
            how, "z"
        )
        data = index.read_bytes().replace(b'"thread_name":"abc"', f'"thread_name":"{new_name}"'.encode())
        if how == "replace":
            tmp = index.with_name("edit.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, index)
        else:
            rewrite_in_place(index, data)  # an editor that saves into the same file
        assert (await store.read_thread(ReadThreadParams(tid))).name == new_name
        names = {t.thread_id: t.name for t in await _list(store)}
        assert names == {tid: new_name, other: "other name"}
        # Removing an entry by hand removes the name.
        lines = [ln for ln in index.read_bytes().splitlines(keepends=True) if tid.encode() not in ln]
        tmp = index.with_name("edit.tmp")
        tmp.write_bytes(b"".join(lines))
        os.replace(tmp, index)
        names = {t.thread_id: t.name for t in await _list(store)}
        assert names[other] == "other name"
        assert names[tid] in (None, "abc")  # the rollout's own rename event may still name it
    finally:
        await store.close()


async def _expected_listing(store: LocalThreadStore) -> list[tuple[str, str | None, str, int]]:
    threads = await _list(store, page_size=1000)
    archived = await _list(store, page_size=1000, archived=True)
    return [(t.thread_id, t.name, t.preview, len(await history(store, t.thread_id, True))) for t in threads + archived]


@pytest.mark.parametrize("damage", ["delete", "garbage", "garbage-after-header", "truncate", "empty"])
async def test_lost_or_corrupt_index_is_rebuilt(tmp_path: Path, damage: str) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    for i in range(4):
        await make_thread(store, f"thread {i}")
    named = await make_thread(store, "named")
    await store.update_thread_metadata(UpdateThreadMetadataParams(named, ThreadMetadataPatch(name="the name")))
    await store.archive_thread(await make_thread(store, "archived"))
    expected = await _expected_listing(store)
    await store.close()
    db = home / ".threadstore" / "index.sqlite3"
    assert db.is_file()
    if damage == "delete":
        db.unlink()
    elif damage == "garbage":
        db.write_bytes(os.urandom(db.stat().st_size))
    elif damage == "garbage-after-header":
        data = bytearray(db.read_bytes())
        data[4096:] = b"\x5a" * (len(data) - 4096)
        db.write_bytes(bytes(data))
    elif damage == "truncate":
        rewrite_in_place(db, db.read_bytes()[: db.stat().st_size // 2])
    else:
        db.write_bytes(b"")
    store = open_store(home)
    try:
        assert await _expected_listing(store) == expected
        hits = await store.search_threads(SearchThreadsParams("named"))
        assert _ids([h.thread for h in hits.items]) == [named]
    finally:
        await store.close()


async def test_reindex_rebuilds_with_identical_results(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    try:
        for i in range(6):
            tid = await make_thread(store, f"thread {i}", shutdown=False)
            await store.append_items(AppendThreadItemsParams(tid, [numbered(i)]))
            await store.shutdown_thread(tid)
        await store.update_thread_metadata(UpdateThreadMetadataParams(tid, ThreadMetadataPatch(name="last")))
        await store.archive_thread((await _list(store))[-1].thread_id)
        before = await _expected_listing(store)
        pages_before = [
            await _list(store, sort_key=k, sort_direction=d)
            for k in ("created_at", "updated_at")
            for d in ("asc", "desc")
        ]
        report = await store.reindex()
        assert report.threads == 6
        assert report.unreadable_files == 0
        assert report.skipped_lines == 0
        assert await _expected_listing(store) == before
        pages_after = [
            await _list(store, sort_key=k, sort_direction=d)
            for k in ("created_at", "updated_at")
            for d in ("asc", "desc")
        ]
        assert pages_after == pages_before
    finally:
        await store.close()


def _write_rollouts(home: Path, count: int) -> list[str]:
    """``count`` small Codex-style rollouts written straight to disk (not through the API)."""
    import uuid

    day = home / "sessions" / "2026" / "03" / "14"
    day.mkdir(parents=True)
    ids = []
    base = 1_773_000_000_000
    for n in range(count):
        ms = base + n * 1000
        tid = str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (0b10 << 62) | n))
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + ".000Z"
        name = f"rollout-2026-03-14T{time.strftime('%H-%M-%S', time.gmtime(ms / 1000))}-{tid}.jsonl"
        meta = {
            "type": "session_meta",
            "payload": {
                "id": tid,
                "timestamp": ts,
                "cwd": "/w",
                "originator": "t",
                "cli_version": "0.125.0",
                "source": "cli",
                "model_provider": "p",
            },
        }
        (day / name).write_bytes(_line(meta, ts) + _line(user_message(f"message {n}"), ts))
        ids.append(tid)
    return ids


async def test_listing_cost_with_3000_threads(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ids = _write_rollouts(home, 3000)
    store = open_store(home)
    try:
        started = time.perf_counter()
        first = await store.list_threads(ListThreadsParams(page_size=50))
        build = time.perf_counter() - started
        assert _ids(first.items) == ids[::-1][:50]
        timings = []
        cursor = first.next_cursor
        for _ in range(5):
            started = time.perf_counter()
            page = await store.list_threads(ListThreadsParams(page_size=50, cursor=cursor))
            timings.append(time.perf_counter() - started)
            cursor = page.next_cursor
        started = time.perf_counter()
        again = await store.list_threads(ListThreadsParams(page_size=50))
        timings.append(time.perf_counter() - started)
        assert again.items == first.items
        assert _ids(page.items) == ids[::-1][250:300]
        print(
            f"\nlisting 3000 threads: first (index-building) list {build * 1000:.1f} ms; "
            f"page of 50 afterwards: median {sorted(timings)[len(timings) // 2] * 1000:.2f} ms, "
            f"min {min(timings) * 1000:.2f} ms"
        )
    finally:
        await store.close()


async def test_corrupt_session_index_lines_are_skipped(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    try:
        tid = await make_thread(store, "named by hand")
        other = await make_thread(store, "other")
        append_bytes(
            home / "session_index.jsonl",
            b"garbage\n\x00\x00\x00\n",
            f'{{"id":"{other}","thread_name":"half \\ud800","updated_at":"2026-01-01T00:00:00Z"}}\n'.encode(),
            f'{{"id":"{tid}","thread_name":"good name","updated_at":"2026-01-01T00:00:00Z"}}\n'.encode(),
        )
        names = {t.thread_id: t.name for t in await _list(store)}
        assert names == {tid: "good name", other: None}
    finally:
        await store.close()
    fresh = open_store(home)
    try:
        assert {t.thread_id: t.name for t in await _list(fresh)} == {tid: "good name", other: None}
    finally:
        await fresh.close()


async def test_index_progress_reports_new_rollouts(tmp_path: Path) -> None:
    from threadstore import ListThreadsParams
    from threadstore._backends.local import LocalThreadStore

    source = LocalThreadStore(tmp_path / "home")
    try:
        for n in range(300):
            await make_thread(source, f"thread {n}")
    finally:
        await source.close()
    import shutil

    shutil.rmtree(tmp_path / "home" / ".threadstore")
    reports: list[tuple[int, int]] = []
    store = LocalThreadStore(tmp_path / "home", index_progress=lambda done, total: reports.append((done, total)))
    try:
        page = await store.list_threads(ListThreadsParams(page_size=10))
        assert len(page.items) == 10
    finally:
        await store.close()
    assert reports[-1] == (300, 300)
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)
