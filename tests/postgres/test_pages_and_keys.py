"""The PostgreSQL store's turn index and idempotency keys: what is stored where, what a page
reads, and what survives another store object (a restart)."""

from __future__ import annotations

import asyncio

import pytest

from threadstore import AppendThreadItemsParams, ResumeThreadParams, items
from threadstore._backends.postgres import PostgresThreadStore
from threadstore._backends.postgres import pages as pages_module
from threadstore._contract.paging import ListItemsParams, ListTurnsParams
from threadstore._rollout.turn_index import Record

from ._util import history, make_thread, sql
from .conftest import StoreFactory


def _turn(n: int) -> list[items.Item]:
    return [
        items.task_started(f"turn-{n}"),
        items.user_response_message(f"question {n}"),
        items.user_message(f"question {n}"),
        items.agent_message(f"answer {n}"),
        items.task_complete(f"turn-{n}", f"answer {n}"),
    ]


async def test_a_keyed_append_is_recognised_by_another_store_after_a_restart(
    open_pg: StoreFactory, postgres_dsn: str
) -> None:
    first = open_pg()
    tid = await make_thread(first, shutdown=False)
    params = AppendThreadItemsParams(tid, [items.user_message("once")], idempotency_key="retry-me")
    await first.append_items(params)
    await first.shutdown_thread(tid)
    assert sql(postgres_dsn, "SELECT key FROM threadstore.append_keys") == [("retry-me",)]
    second = open_pg()  # a new process: it never saw the key
    await second.resume_thread(ResumeThreadParams(tid))
    await second.append_items(params)
    await second.append_items(AppendThreadItemsParams(tid, [items.user_message("new")], idempotency_key="other"))
    await second.shutdown_thread(tid)
    texts = [i["payload"].get("message") for i in await history(second, tid) if i["type"] == "event_msg"]
    assert texts == ["hello", "once", "new"]


async def test_a_page_of_a_long_thread_reads_only_its_turns(
    pg_store: PostgresThreadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = pg_store
    tid = await make_thread(store, shutdown=False)
    for chunk in range(8):
        batch = [item for n in range(chunk * 250, (chunk + 1) * 250) for item in _turn(n)]
        await store.append_items(AppendThreadItemsParams(tid, batch))
    first = await store.list_turns(ListTurnsParams(tid, page_size=10))
    assert [t.turn_id for t in first.turns] == [f"turn-{n}" for n in range(1999, 1989, -1)]
    read: list[int] = []
    original = pages_module._PostgresHistory.read

    async def counting(self: pages_module._PostgresHistory, ranges: list[tuple[int, int]]) -> list[Record]:
        records = await original(self, ranges)
        read.append(len(records))
        return records

    monkeypatch.setattr(pages_module._PostgresHistory, "read", counting)
    middle = await store.list_turns(ListTurnsParams(tid, cursor=first.next_cursor, page_size=10))
    assert [t.turn_id for t in middle.turns] == [f"turn-{n}" for n in range(1989, 1979, -1)]
    assert sum(read) == 10 * 5
    read.clear()
    oldest = await store.list_items(ListItemsParams(tid, page_size=3))
    assert [i.item["type"] for i in oldest.items] == ["userMessage", "userMessage", "agentMessage"]
    assert sum(read) <= 3 * 5 + 1
    await store.shutdown_thread(tid)


async def test_concurrent_pages_of_a_growing_thread_agree(open_pg: StoreFactory, postgres_dsn: str) -> None:
    writer, readers = open_pg(), [open_pg() for _ in range(3)]
    tid = await make_thread(writer, shutdown=False)

    async def write() -> None:
        for n in range(30):
            await writer.append_items(AppendThreadItemsParams(tid, _turn(n)))

    async def read(store: PostgresThreadStore) -> None:
        for _ in range(15):
            await store.list_turns(ListTurnsParams(tid, page_size=5))

    await asyncio.gather(write(), *(read(r) for r in readers))
    await writer.shutdown_thread(tid)
    for store in (writer, *readers):
        page = await store.list_turns(ListTurnsParams(tid, page_size=1000, sort_direction="asc"))
        assert [t.turn_id for t in page.turns] == ["turn-1"] + [f"turn-{n}" for n in range(30)]
    assert sql(postgres_dsn, "SELECT count(*) FROM threadstore.turns") == [(31,)]
