"""Symbolic links never lead the local store's writes out of its home: a linked rollout is not
a thread, a rollout whose directory links elsewhere is not written, and no file is written
through a link."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from threadstore import (
    AppendThreadItemsParams,
    InvalidRequest,
    ListThreadsParams,
    ReadThreadParams,
    ResumeThreadParams,
    ThreadMetadataPatch,
    ThreadNotFound,
    ThreadStoreError,
    UpdateThreadMetadataParams,
    items,
)
from threadstore.testing import create_params

from ._util import make_thread, open_store, rollout_files


def _snapshot(path: Path) -> bytes:
    return path.read_bytes()


async def test_a_rollout_replaced_by_a_link_is_never_written_through(tmp_path: Path) -> None:
    home = tmp_path / "home"
    outside = tmp_path / "outside.jsonl"
    store = open_store(home)
    try:
        tid = await make_thread(store, "mine")
        [rollout] = rollout_files(home)
        shutil.copy(rollout, outside)
        rollout.unlink()
        rollout.symlink_to(outside)
        before = _snapshot(outside)
        with pytest.raises(ThreadStoreError):  # the thread is gone, or its file is refused
            await store.resume_thread(ResumeThreadParams(tid))
        with pytest.raises(ThreadStoreError):
            await store.update_thread_metadata(UpdateThreadMetadataParams(tid, ThreadMetadataPatch(name="renamed")))
        assert _snapshot(outside) == before
    finally:
        await store.close()


async def test_a_linked_rollout_planted_in_sessions_is_not_a_thread(tmp_path: Path) -> None:
    source = tmp_path / "source-home"
    store = open_store(source)
    tid = await make_thread(store, "planted")
    await store.close()
    [rollout] = rollout_files(source)
    outside = tmp_path / "elsewhere.jsonl"
    shutil.move(rollout, outside)
    home = tmp_path / "home"
    day = home / "sessions" / "2026" / "01" / "01"
    day.mkdir(parents=True)
    (day / rollout.name).symlink_to(outside)
    before = _snapshot(outside)
    store = open_store(home)
    try:
        assert (await store.list_threads(ListThreadsParams())).items == []
        await store.reindex()
        assert (await store.list_threads(ListThreadsParams())).items == []
        with pytest.raises(ThreadNotFound):
            await store.resume_thread(ResumeThreadParams(tid))
        with pytest.raises(ThreadNotFound):
            await store.read_thread(ReadThreadParams(tid))
        assert _snapshot(outside) == before
    finally:
        await store.close()


async def test_a_day_directory_that_links_out_of_the_home_is_not_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    store = open_store(home)
    try:
        params = create_params()
        # Where today's rollouts go, a link to a directory outside the home.
        sessions = home / "sessions"
        from datetime import datetime

        now = datetime.now().astimezone()
        month = sessions / now.strftime("%Y") / now.strftime("%m")
        month.mkdir(parents=True)
        (month / now.strftime("%d")).symlink_to(elsewhere, target_is_directory=True)
        await store.create_thread(params)
        with pytest.raises(InvalidRequest, match="out of the home"):
            await store.append_items(AppendThreadItemsParams(params.thread_id, [items.user_message("hi")]))
        assert list(elsewhere.iterdir()) == []
        await store.discard_thread(params.thread_id)
    finally:
        await store.close()


async def test_the_name_index_is_never_written_through_a_link(tmp_path: Path) -> None:
    home = tmp_path / "home"
    outside = tmp_path / "names-outside.jsonl"
    outside.write_bytes(b"")
    store = open_store(home)
    try:
        tid = await make_thread(store, "named")
        (home / "session_index.jsonl").unlink(missing_ok=True)
        os.symlink(outside, home / "session_index.jsonl")
        with pytest.raises(InvalidRequest, match="symbolic link"):
            await store.update_thread_metadata(UpdateThreadMetadataParams(tid, ThreadMetadataPatch(name="x")))
        assert outside.read_bytes() == b""
    finally:
        await store.close()
