"""One thread's content never makes other threads, or the store, unusable: rollouts whose times
no datetime can hold (valid RFC 3339, out of range once in UTC), in lines and in their
``session_meta``, are read with those times absent, and everything else goes on — locally, after
a restart, and through the server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from threadstore import (
    ListThreadsParams,
    ReadThreadParams,
    SearchThreadsParams,
    ThreadNotFound,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.remote import RemoteThreadStore
from threadstore._server import start_server

from ._util import make_thread

POISON = ("9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00")


def _plant(home: Path, stamp: str) -> str:
    tid = new_thread_id()
    day = home / "sessions" / "2026" / "03" / "04"
    day.mkdir(parents=True, exist_ok=True)
    meta = {"id": tid, "timestamp": stamp, "cwd": "/p", "originator": "x", "cli_version": "1", "source": "cli"}
    lines = [
        {"timestamp": stamp, "type": "session_meta", "payload": meta},
        {"timestamp": stamp, "type": "event_msg", "payload": {"type": "user_message", "message": f"poison {stamp}"}},
    ]
    (day / f"rollout-2026-03-04T05-06-07-{tid}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return tid


async def test_out_of_range_times_in_a_rollout_poison_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = LocalThreadStore(home)
    good = await make_thread(store, "a healthy thread")
    poisoned = [_plant(home, stamp) for stamp in POISON]
    try:
        listed = {t.thread_id for t in (await store.list_threads(ListThreadsParams())).items}
        assert {good, *poisoned} <= listed
        for sort_key in ("created_at", "updated_at"):
            page = await store.list_threads(ListThreadsParams(sort_key=sort_key, page_size=1))
            assert page.next_cursor is not None
            await store.list_threads(ListThreadsParams(sort_key=sort_key, cursor=page.next_cursor))
        hits = await store.search_threads(SearchThreadsParams(search_term="poison"))
        assert {h.thread.thread_id for h in hits.items} == set(poisoned)
        for tid in poisoned:
            thread = await store.read_thread(ReadThreadParams(tid, include_history=True))
            assert thread.preview.startswith("poison")
        another = await make_thread(store, "created after the poison")
        report = await store.reindex()
        assert report.threads == 4
        await store.delete_thread(poisoned[0])
        with pytest.raises(ThreadNotFound):
            await store.read_thread(ReadThreadParams(poisoned[0]))
    finally:
        await store.close()
    # A restart changes nothing, and a server over the home serves every client.
    running = await start_server("127.0.0.1:0", LocalThreadStore(home))
    client = RemoteThreadStore(running.url)
    try:
        ids = {t.thread_id for t in (await client.list_threads(ListThreadsParams())).items}
        assert ids == {good, another, poisoned[1]}
        assert (await client.read_thread(ReadThreadParams(poisoned[1]))).preview.startswith("poison")
    finally:
        await client.close()
        await running.stop(grace=1)
