"""Paginated history on the local store: real Codex homes (forks by reference included),
compressed rollouts, files other programs change, and reads bounded by the page."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import zstandard

from tests.fixtures import CODEX_HOME_0125, CODEX_HOME_0169
from threadstore import AppendThreadItemsParams, ListThreadsParams, LoadThreadHistoryParams, items
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.local import lines as lines_module
from threadstore._contract.paging import ListItemsParams, ListTurnsParams, StoredTurn
from threadstore._contract.types import SortDirection
from threadstore._rollout.turns import build_stored_turns

from ._util import make_thread

FORK_0169 = "01a211bf-a3a2-7a11-957b-fff58b5ad6c6"  # a fork by reference of thread A
THREAD_A_0169 = "01a211bf-a202-72e0-abc9-a87cf784d36a"


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


async def _expected(store: LocalThreadStore, tid: str) -> list[StoredTurn]:
    history = await store.load_history(LoadThreadHistoryParams(tid, include_archived=True))
    return build_stored_turns(history.items)


async def _paged_turns(
    store: LocalThreadStore, tid: str, size: int, direction: SortDirection = "asc"
) -> list[StoredTurn]:
    out: list[StoredTurn] = []
    cursor = None
    while True:
        page = await store.list_turns(
            ListTurnsParams(
                tid,
                include_archived=True,
                cursor=cursor,
                page_size=size,
                sort_direction=direction,
                items_view="full",
            )
        )
        out += page.turns
        if page.next_cursor is None:
            return out if direction == "asc" else out[::-1]
        cursor = page.next_cursor


async def _paged_items(store: LocalThreadStore, tid: str, size: int) -> list[Any]:
    out: list[Any] = []
    cursor = None
    while True:
        page = await store.list_items(ListItemsParams(tid, include_archived=True, cursor=cursor, page_size=size))
        out += [(i.turn_id, i.item_ordinal, i.item) for i in page.items]
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


def _flat(turns: list[StoredTurn]) -> list[Any]:
    return [(tid, n, item) for n, (tid, item) in enumerate((t.turn_id, i) for t in turns for i in t.items)]


async def _all_threads(store: LocalThreadStore) -> list[str]:
    ids: list[str] = []
    for archived in (False, True):
        ids += [t.thread_id for t in (await store.list_threads(ListThreadsParams(archived=archived))).items]
    return ids


@pytest.mark.parametrize("fixture", [CODEX_HOME_0125, CODEX_HOME_0169], ids=["0.125", "0.169"])
async def test_codex_homes_page_like_their_whole_histories(tmp_path: Path, fixture: Path) -> None:
    store = LocalThreadStore(_copy(fixture, tmp_path / "home"))
    try:
        ids = await _all_threads(store)
        assert len(ids) >= 4
        shown = 0
        for tid in ids:
            expected = await _expected(store, tid)
            shown += sum(len(t.items) for t in expected)
            for size in (1, 2, 50):
                assert await _paged_turns(store, tid, size) == expected
                assert await _paged_turns(store, tid, size, "desc") == expected
            assert await _paged_items(store, tid, 1) == _flat(expected)
        assert shown > 10
    finally:
        await store.close()


async def test_a_fork_by_reference_pages_through_its_parents_lines(tmp_path: Path) -> None:
    home = _copy(CODEX_HOME_0169, tmp_path / "home")
    own_lines = next(home.rglob(f"*{FORK_0169}.jsonl")).read_text().count("\n")
    store = LocalThreadStore(home)
    try:
        history = (await store.load_history(LoadThreadHistoryParams(FORK_0169))).items
        assert len(history) > own_lines  # the parent's lines are part of it
        expected = build_stored_turns(history)
        assert await _paged_turns(store, FORK_0169, 1) == expected
        parent = next(home.rglob(f"*{THREAD_A_0169}.jsonl"))
        # The parent is archived (its file moves): the fork still reads its lines.
        await store.archive_thread(THREAD_A_0169)
        assert not parent.exists()
        assert await _paged_turns(store, FORK_0169, 2, "desc") == expected
        # The parent is deleted: like a whole read, the fork now shows only its own lines.
        await store.delete_thread(THREAD_A_0169)
        history = (await store.load_history(LoadThreadHistoryParams(FORK_0169))).items
        assert len(history) == own_lines
        assert await _paged_turns(store, FORK_0169, 2) == build_stored_turns(history)
    finally:
        await store.close()


async def test_compressed_rollouts_page_like_plain_ones(tmp_path: Path) -> None:
    home = _copy(CODEX_HOME_0125, tmp_path / "home")
    plain_store = LocalThreadStore(home)
    ids = await _all_threads(plain_store)
    expected = {tid: await _expected(plain_store, tid) for tid in ids}
    await plain_store.close()
    for plain in list(home.rglob("rollout-*.jsonl")):
        Path(f"{plain}.zst").write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
        plain.unlink()
    store = LocalThreadStore(home)
    try:
        for tid in ids:
            assert await _paged_turns(store, tid, 1) == expected[tid]
            assert await _paged_items(store, tid, 2) == _flat(expected[tid])
    finally:
        await store.close()


def _append_text(path: Path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)


async def test_files_changed_by_other_programs_are_noticed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = LocalThreadStore(home)
    try:
        tid = await make_thread(store, "first")
        path = next(home.rglob(f"*{tid}.jsonl"))
        assert len(await _paged_turns(store, tid, 5)) == 1
        # Another program appends a turn (and leaves a torn line, completed later).
        _append_text(path, json.dumps({"timestamp": "2030-01-01T00:00:00Z", **items.user_message("second")}) + "\n")
        _append_text(path, '{"timestamp": "2030-01-01T00:00:01Z", "type": "event_msg", "payl')
        assert [len(t.items) for t in await _paged_turns(store, tid, 5)] == [1, 1]
        _append_text(path, 'oad": {"type": "agent_message", "message": "answer"}}\n')
        turns = await _paged_turns(store, tid, 5)
        assert turns == await _expected(store, tid)
        assert [len(t.items) for t in turns] == [1, 2]
        # Another program rewrites the file with other content of the same thread.
        lines = path.read_text().splitlines(keepends=True)
        path.write_text(lines[0] + json.dumps(items.user_message("rewritten")) + "\n")
        turns = await _paged_turns(store, tid, 5)
        assert [t.items[0]["content"][0]["text"] for t in turns] == ["rewritten"]
    finally:
        await store.close()


async def test_a_damaged_page_index_is_rebuilt(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = LocalThreadStore(home)
    tid = await make_thread(store, "one", "two")
    expected = await _paged_turns(store, tid, 1)
    await store.close()
    (home / ".threadstore" / "pages.sqlite3").write_bytes(b"not a database" * 100)
    store = LocalThreadStore(home)
    try:
        assert await _paged_turns(store, tid, 1) == expected
    finally:
        await store.close()


class _Counting(io.RawIOBase):
    """A file whose reads are counted."""

    def __init__(self, inner: IO[bytes], counter: list[int]) -> None:
        self._inner = inner
        self._counter = counter

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self._counter[0] += len(data)
        return data


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    counter = [0]
    original = lines_module._open_at

    def counting(path: Path, offset: int) -> contextlib.AbstractContextManager[_Counting]:
        @contextlib.contextmanager
        def wrapped() -> Iterator[_Counting]:
            with original(path, offset) as f:
                yield _Counting(f, counter)

        return wrapped()

    monkeypatch.setattr(lines_module, "_open_at", counting)
    return counter


def _long_turn(n: int) -> list[Any]:
    return [
        items.task_started(f"turn-{n}", started_at=n),
        items.user_response_message(f"question {n}"),
        items.user_message(f"question {n}"),
        items.event("agent_reasoning", text="x" * 200),
        items.agent_message(f"answer {n} " + "y" * 200),
        items.assistant_message(f"answer {n} " + "y" * 200),
        items.task_complete(f"turn-{n}", f"answer {n}", completed_at=n, duration_ms=1),
    ]


async def test_a_page_of_a_long_thread_reads_a_bounded_part_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    store = LocalThreadStore(home)
    try:
        tid = await make_thread(store, "start", shutdown=False)
        for chunk in range(20):
            batch = [item for n in range(chunk * 150, (chunk + 1) * 150) for item in _long_turn(n)]
            await store.append_items(AppendThreadItemsParams(tid, batch))
        await store.flush_thread(tid)
        size = os.path.getsize(next(home.rglob(f"*{tid}.jsonl")))
        assert size > 3_000_000
        counter = _count_reads(monkeypatch)
        first = await store.list_turns(ListTurnsParams(tid, page_size=10))  # builds the index: one whole read
        assert counter[0] >= size
        assert [t.turn_id for t in first.turns] == [f"turn-{n}" for n in range(2999, 2989, -1)]

        counter[0] = 0
        middle = await store.list_turns(ListTurnsParams(tid, cursor=first.next_cursor, page_size=10))
        assert [t.turn_id for t in middle.turns] == [f"turn-{n}" for n in range(2989, 2979, -1)]
        assert counter[0] < 64 * 1024  # ten turns of about 1.3 KB each, plus what one mark skips
        counter[0] = 0
        oldest = await store.list_items(ListItemsParams(tid, page_size=5))
        assert [i.item["type"] for i in oldest.items] == [
            "userMessage",
            "userMessage",
            "reasoning",
            "agentMessage",
            "userMessage",
        ]
        assert counter[0] < 64 * 1024

        # An append costs the new lines and the open turn, not the history.
        await store.append_items(
            AppendThreadItemsParams(tid, [items.task_started("turn-new"), items.user_message("more")])
        )
        await store.flush_thread(tid)
        counter[0] = 0
        newest = await store.list_turns(ListTurnsParams(tid, page_size=1, items_view="full"))
        assert newest.turns[0].turn_id == "turn-new"
        assert newest.turns[0].status == "in_progress"
        assert counter[0] < 64 * 1024
        await store.shutdown_thread(tid)
    finally:
        await store.close()
