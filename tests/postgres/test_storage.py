"""What the PostgreSQL store keeps where: lazy rows, items stored once, exact bytes, schema
versions, index-backed listing, casefold search, values PostgreSQL text cannot hold."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TypedDict

import pytest

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    Internal,
    ListThreadsParams,
    LoadThreadHistoryParams,
    ReadThreadParams,
    SearchThreadsParams,
    ThreadMetadataPatch,
    Unsupported,
    UpdateThreadMetadataParams,
    items,
    new_thread_id,
)
from threadstore._backends.postgres import PostgresThreadStore
from threadstore._backends.postgres.schema import SCHEMA_VERSION
from threadstore._contract.types import SessionSource, ThreadSortKey
from threadstore._rollout.items import Item

from .._json_check import same_json_text
from ._util import make_thread, sql
from .conftest import StoreFactory


async def test_a_thread_that_persists_nothing_leaves_no_rows(pg_store: PostgresThreadStore, postgres_dsn: str) -> None:
    for end in ("shutdown", "discard"):
        tid = new_thread_id()
        await pg_store.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
        assert sql(postgres_dsn, "SELECT count(*) FROM threadstore.leases") == [(1,)]
        await pg_store.append_items(AppendThreadItemsParams(tid, [items.event("agent_message_delta", delta="x")]))
        await pg_store.flush_thread(tid)
        await (pg_store.shutdown_thread(tid) if end == "shutdown" else pg_store.discard_thread(tid))
    for table in ("threads", "items", "texts", "leases"):
        assert sql(postgres_dsn, f"SELECT count(*) FROM threadstore.{table}") == [(0,)], table


async def test_items_are_stored_once_each_in_order_with_their_exact_json(
    pg_store: PostgresThreadStore, postgres_dsn: str
) -> None:
    weird: list[Item] = [
        {"type": "response_item", "payload": {"z": 1, "a": 2, "big": 2**80, "f": 0.1}, "zz": None},
        {
            "timestamp": "2020-01-02T03:04:05.678Z",
            "type": "event_msg",
            "payload": {"type": "user_message", "message": "é😀"},
        },
        {"type": "unknown_kind", "payload": {"nested": {"b": [1, {"y": 2, "x": 1}]}}},
    ]
    tid = await make_thread(pg_store, shutdown=False)
    before = sql(postgres_dsn, "SELECT seq, xmin::text FROM threadstore.items ORDER BY seq")
    await pg_store.append_items(AppendThreadItemsParams(tid, weird))
    await pg_store.shutdown_thread(tid)
    rows = sql(postgres_dsn, "SELECT seq, written_at, body, xmin::text FROM threadstore.items ORDER BY seq")
    assert [r[0] for r in rows] == list(range(len(before) + len(weird)))
    # Appends insert rows; the rows already there are never rewritten.
    assert [(r[0], r[3]) for r in rows[: len(before)]] == before
    assert rows[-2][1] == "2020-01-02T03:04:05.678Z"  # an item's own timestamp is its line's time
    stored = [{k: v for k, v in item.items() if k != "timestamp"} for item in weird]
    loaded = await pg_store.load_history(LoadThreadHistoryParams(tid))
    assert loaded.items[-3:] == stored
    assert loaded.timestamps is not None
    assert loaded.timestamps[-2] == "2020-01-02T03:04:05.678Z"
    assert loaded.lines()[-2] == weird[1]
    for item, row in zip(stored, rows[-3:], strict=True):
        assert same_json_text(item, bytes(row[2]))  # key order and big integers kept byte for byte


async def test_many_stores_starting_at_once_migrate_once(open_pg: StoreFactory, postgres_dsn: str) -> None:
    stores = [open_pg(pool_size=1) for _ in range(6)]
    pages = await asyncio.gather(*(s.list_threads(ListThreadsParams()) for s in stores))
    assert all(p.items == [] for p in pages)
    assert sql(postgres_dsn, "SELECT version FROM threadstore.schema_version") == [(SCHEMA_VERSION,)]


async def test_a_newer_schema_is_refused_naming_both_versions(open_pg: StoreFactory, postgres_dsn: str) -> None:
    await open_pg().list_threads(ListThreadsParams())
    sql(postgres_dsn, "UPDATE threadstore.schema_version SET version = 99")
    with pytest.raises(Unsupported, match=rf"version 99.*version {SCHEMA_VERSION}"):
        await open_pg().list_threads(ListThreadsParams())


async def test_an_unreachable_database_is_a_clear_error() -> None:
    store = PostgresThreadStore("postgresql://nobody@127.0.0.1:1/none", retry_for=0.3, connect_timeout=1)
    try:
        with pytest.raises(Internal, match="PostgreSQL"):
            await store.read_thread(ReadThreadParams(new_thread_id()))
    finally:
        await store.close()


class ListingFilters(TypedDict, total=False):
    """The filters of a listing the index serves in every order."""

    allowed_sources: Sequence[SessionSource]
    model_providers: Sequence[str]
    cwd_filters: Sequence[str]


@pytest.mark.parametrize("sort_key", ["created_at", "updated_at"])
@pytest.mark.parametrize(
    "filters",
    [{}, {"allowed_sources": ["cli"]}, {"model_providers": ["p"]}, {"cwd_filters": ["/w"]}],
    ids=["none", "source", "provider", "cwd"],
)
async def test_every_listing_order_is_served_by_an_index(
    pg_store: PostgresThreadStore, postgres_dsn: str, sort_key: ThreadSortKey, filters: ListingFilters
) -> None:
    from threadstore._backends.postgres.listing import page_query, where_listing

    await make_thread(pg_store)
    params = ListThreadsParams(sort_key=sort_key, cursor=f"2026-01-01T00:00:00.000Z|{new_thread_id()}", **filters)
    query, args = page_query(
        where_listing(params), archived=False, sort_key=sort_key, descending=True, cursor=params.cursor, limit=51
    )
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_sort = off")
        plan = "\n".join(str(r[0]) for r in conn.execute(("EXPLAIN " + query).encode(), args).fetchall())
    assert "Index" in plan, plan
    assert "Sort" not in plan, plan  # the keyset order comes from an index: a deep page costs a first page


async def test_search_folds_case_like_python(pg_store: PostgresThreadStore) -> None:
    street = await make_thread(pg_store, "Wir wohnen in der Großstraße 5")
    await make_thread(pg_store, "nothing here")
    hits = (await pg_store.search_threads(SearchThreadsParams(search_term="GROSSSTRASSE"))).items
    assert [h.thread.thread_id for h in hits] == [street]
    assert "Großstraße" in hits[0].snippet
    wildcard = await make_thread(pg_store, "100% sure_thing")
    assert [h.thread.thread_id for h in (await pg_store.search_threads(SearchThreadsParams("0% s"))).items] == [
        wildcard
    ]
    assert (await pg_store.search_threads(SearchThreadsParams("1_0"))).items == []


async def test_values_postgres_text_cannot_hold_round_trip(pg_store: PostgresThreadStore) -> None:
    tid = new_thread_id()
    await pg_store.create_thread(CreateThreadParams(thread_id=tid, cwd="/w\x00x", model_provider="p\x00"))
    await pg_store.append_items(AppendThreadItemsParams(tid, [items.user_message("nul \x00 inside")]))
    await pg_store.shutdown_thread(tid)
    renamed = await pg_store.update_thread_metadata(UpdateThreadMetadataParams(tid, ThreadMetadataPatch(name="a\x00b")))
    assert renamed.name == "a\x00b"
    thread = await pg_store.read_thread(ReadThreadParams(tid, include_history=True))
    assert thread.cwd == "/w\x00x"
    assert thread.history is not None
    assert thread.history.items[-1]["payload"]["message"] == "nul \x00 inside"
    assert [t.thread_id for t in (await pg_store.list_threads(ListThreadsParams(cwd_filters=["/w\x00x"]))).items] == [
        tid
    ]
    hits = (await pg_store.search_threads(SearchThreadsParams("nul \x00"))).items
    assert [h.snippet for h in hits] == ["nul \x00 inside"]
