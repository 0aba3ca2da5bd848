"""Compressed rollouts (``.jsonl.zst``, written by newer Codex builds) are threads like any other."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import zstandard

from tests.fixtures import CODEX_HOME_0125 as FIXTURE
from threadstore import (
    AppendThreadItemsParams,
    ListThreadsParams,
    LoadThreadHistoryParams,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    items,
)
from threadstore._backends.local import LocalThreadStore

THREAD_A = "01a211bf-81da-7c93-9c38-b2117fbac6d3"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(FIXTURE, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    plain = next(target.rglob(f"*{THREAD_A}.jsonl"))
    compressed = Path(f"{plain}.zst")
    compressed.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    plain.unlink()
    return target


def _lines(home: Path) -> list[dict[str, object]]:
    data = zstandard.ZstdDecompressor().stream_reader(next(home.rglob(f"*{THREAD_A}.jsonl.zst")).open("rb")).read()
    lines = [json.loads(line) for line in data.splitlines() if line.strip()]
    for line in lines:
        line.pop("timestamp", None)
    return lines


async def test_compressed_rollouts_are_listed_read_and_searched(home: Path) -> None:
    expected = _lines(home)
    store = LocalThreadStore(home)
    try:
        listed = {t.thread_id: t for t in (await store.list_threads(ListThreadsParams())).items}
        assert listed[THREAD_A].preview == "plan the storage layer"
        assert listed[THREAD_A].name == "Storage work"
        thread = await store.read_thread(ReadThreadParams(THREAD_A, include_history=True))
        assert thread.history is not None
        assert thread.history.items == expected
        # The reported path is the logical plain one, and reading by it works.
        assert thread.rollout_path is not None
        assert thread.rollout_path.endswith(f"{THREAD_A}.jsonl")
        by_path = await store.read_thread_by_rollout_path(ReadThreadByRolloutPathParams(thread.rollout_path))
        assert by_path.thread_id == THREAD_A
        hits = (await store.search_threads(SearchThreadsParams("sqlite index"))).items
        assert THREAD_A in {h.thread.thread_id for h in hits}
    finally:
        await store.close()


async def test_appending_rematerializes_plain_jsonl(home: Path) -> None:
    expected = _lines(home)
    store = LocalThreadStore(home)
    try:
        await store.resume_thread(ResumeThreadParams(THREAD_A))
        await store.append_items(AppendThreadItemsParams(THREAD_A, [items.user_message("after compression")]))
        await store.shutdown_thread(THREAD_A)
        assert not list(home.rglob(f"*{THREAD_A}.jsonl.zst"))
        assert len(list(home.rglob(f"*{THREAD_A}.jsonl"))) == 1
        history = (await store.load_history(LoadThreadHistoryParams(THREAD_A))).items
        assert history[: len(expected)] == expected
        assert history[-1] == items.user_message("after compression")
        listed = (await store.list_threads(ListThreadsParams())).items
        assert [t.thread_id for t in listed].count(THREAD_A) == 1
    finally:
        await store.close()


async def test_archive_reindex_and_delete_compressed(home: Path) -> None:
    store = LocalThreadStore(home)
    try:
        await store.archive_thread(THREAD_A)
        assert list((home / "archived_sessions").glob(f"*{THREAD_A}.jsonl.zst"))
        archived = (await store.list_threads(ListThreadsParams(archived=True))).items
        assert THREAD_A in {t.thread_id for t in archived}
        report = await store.reindex()
        assert report.threads == 5
        await store.unarchive_thread(THREAD_A)
        await store.delete_thread(THREAD_A)
        assert not list(home.rglob(f"*{THREAD_A}*"))
    finally:
        await store.close()
