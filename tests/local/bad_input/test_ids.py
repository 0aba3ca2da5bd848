"""Malformed thread ids are refused by every operation; upper-case ids are the same thread."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    LoadThreadHistoryParams,
    ReadThreadParams,
    ResumeThreadParams,
    ThreadMetadataPatch,
    ThreadNotFound,
    UpdateThreadMetadataParams,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._rollout.items import user_message

from .._util import history, numbered, numbers, rollout_files
from .helpers import refused

BAD_IDS = [
    "",
    "not-a-uuid",
    "../../etc/passwd",
    "01a211bf-81da-7c93-9c38-b2117fbac6d3/../../x",
    "01a211bf-81da-7c93-9c38-b2117fbac6d3.jsonl",
    "01a211bf81da7c939c38b2117fbac6d3",
    "01a211bf-81da-7c93-9c38-b2117fbac6dz",
    "01a211bf-81da-7c93-9c38-b2117fbac6d3\x00",
    "*",
    "%",
]


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_malformed_ids_are_refused(home: Path, store: LocalThreadStore, bad: str) -> None:
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: store.read_thread(ReadThreadParams(bad)),
        lambda: store.load_history(LoadThreadHistoryParams(bad)),
        lambda: store.create_thread(CreateThreadParams(thread_id=bad, cwd="/w", model_provider="p")),
        lambda: store.resume_thread(ResumeThreadParams(thread_id=bad)),
        lambda: store.append_items(AppendThreadItemsParams(bad, [user_message("x")])),
        lambda: store.update_thread_metadata(UpdateThreadMetadataParams(bad, ThreadMetadataPatch(name="n"))),
        lambda: store.archive_thread(bad),
        lambda: store.unarchive_thread(bad),
        lambda: store.delete_thread(bad),
        lambda: store.persist_thread(bad),
        lambda: store.flush_thread(bad),
        lambda: store.shutdown_thread(bad),
        lambda: store.discard_thread(bad),
        lambda: store.create_thread(
            CreateThreadParams(thread_id=new_thread_id(), cwd="/w", model_provider="p", forked_from_id=bad)
        ),
    ]
    for call in calls:
        message = await refused(home, call)
        assert "invalid" in message
    assert len(rollout_files(home)) == 2


async def test_upper_case_ids_are_accepted_and_normalized(home: Path, store: LocalThreadStore) -> None:
    tid = new_thread_id()
    upper = tid.upper()
    await store.create_thread(CreateThreadParams(thread_id=upper, cwd="/w", model_provider="p"))
    await store.append_items(AppendThreadItemsParams(upper, [user_message("shout")]))
    await store.flush_thread(upper)
    await store.persist_thread(upper)
    assert store.live_rollout_path(upper).name.endswith(f"{tid}.jsonl")
    await store.shutdown_thread(upper)
    thread = await store.read_thread(ReadThreadParams(f" {upper} "))
    assert thread.thread_id == tid
    await store.resume_thread(ResumeThreadParams(thread_id=upper))
    await store.append_items(AppendThreadItemsParams(tid, [numbered(0)]))
    await store.discard_thread(upper)  # the same writer: it is gone afterwards
    with pytest.raises(ThreadNotFound):
        await store.flush_thread(tid)
    await store.archive_thread(upper)
    assert (await store.unarchive_thread(upper)).thread_id == tid
    assert numbers(await history(store, upper)) == [0]
    await store.delete_thread(upper)
    with pytest.raises(ThreadNotFound):
        await store.read_thread(ReadThreadParams(tid))
