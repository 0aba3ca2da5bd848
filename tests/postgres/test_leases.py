"""Writer leases across store objects (each stands for another process or machine): refusal,
takeover with fencing, renewal, release, and metadata changes made while another store writes."""

from __future__ import annotations

import asyncio

import pytest

from threadstore import (
    AppendThreadItemsParams,
    Conflict,
    CreateThreadParams,
    ListThreadsParams,
    ReadThreadParams,
    ResumeThreadParams,
    ThreadMetadataPatch,
    TokenUsage,
    UpdateThreadMetadataParams,
    items,
)

from ._util import history, make_thread, numbers, sql
from .conftest import StoreFactory


def numbered(n: int) -> dict[str, object]:
    return {"type": "response_item", "payload": {"type": "message", "role": "user", "n": n, "content": []}}


async def test_a_second_store_is_refused_while_a_writer_lives(open_pg: StoreFactory) -> None:
    first, second = open_pg(), open_pg()
    tid = await make_thread(first, "mine", shutdown=False)
    with pytest.raises(Conflict, match="live writer"):
        await second.resume_thread(ResumeThreadParams(tid))
    with pytest.raises(Conflict):
        await second.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
    for operation in (second.archive_thread, second.delete_thread):
        with pytest.raises(Conflict, match="another process"):
            await operation(tid)
    await first.shutdown_thread(tid)
    await second.resume_thread(ResumeThreadParams(tid))
    await second.append_items(AppendThreadItemsParams(tid, [items.agent_message("now mine")]))
    await second.shutdown_thread(tid)
    assert [i["payload"].get("message") for i in (await history(first, tid))[1:]] == ["mine", "now mine"]


async def test_a_writer_whose_lease_was_taken_over_never_interleaves(open_pg: StoreFactory, postgres_dsn: str) -> None:
    old, new = open_pg(), open_pg()
    tid = await make_thread(old, "start", shutdown=False)
    await old.append_items(AppendThreadItemsParams(tid, [numbered(0)]))
    # The old writer stalls (a long pause, a network partition) past its lease.
    sql(postgres_dsn, "UPDATE threadstore.leases SET expires_at = clock_timestamp() - interval '1 second'")
    await new.resume_thread(ResumeThreadParams(tid))
    await new.append_items(AppendThreadItemsParams(tid, [numbered(1)]))
    with pytest.raises(Conflict, match="taken over"):
        await old.append_items(AppendThreadItemsParams(tid, [numbered(99)]))
    await new.append_items(AppendThreadItemsParams(tid, [numbered(2)]))
    await old.shutdown_thread(tid)  # releases nothing of the new owner's
    with pytest.raises(Conflict):
        await open_pg().resume_thread(ResumeThreadParams(tid))
    await new.shutdown_thread(tid)
    assert numbers(await history(new, tid)) == [0, 1, 2]


async def test_a_quiet_live_writer_keeps_its_lease(open_pg: StoreFactory) -> None:
    writer = open_pg(lease_ttl=0.6)
    tid = await make_thread(writer, shutdown=False)
    await asyncio.sleep(2.0)  # several lease lifetimes without an append
    with pytest.raises(Conflict):
        await open_pg().resume_thread(ResumeThreadParams(tid))
    await writer.append_items(AppendThreadItemsParams(tid, [numbered(0)]))
    await writer.shutdown_thread(tid)


async def test_shutdown_discard_and_close_release_leases(open_pg: StoreFactory, postgres_dsn: str) -> None:
    store = open_pg()
    ids = [await make_thread(store, shutdown=False) for _ in range(3)]
    assert sql(postgres_dsn, "SELECT count(*) FROM threadstore.leases") == [(3,)]
    await store.shutdown_thread(ids[0])
    await store.discard_thread(ids[1])
    assert sql(postgres_dsn, "SELECT count(*) FROM threadstore.leases") == [(1,)]
    await store.close()
    assert sql(postgres_dsn, "SELECT count(*) FROM threadstore.leases") == [(0,)]


async def test_metadata_changed_elsewhere_while_a_writer_appends(open_pg: StoreFactory) -> None:
    writer, other = open_pg(), open_pg()
    tid = await make_thread(writer, "first question", shutdown=False)
    renamed = await other.update_thread_metadata(UpdateThreadMetadataParams(tid, ThreadMetadataPatch(name="Named")))
    assert renamed.name == "Named"
    usage = {"input_tokens": 3, "cached_input_tokens": 0, "output_tokens": 4, "reasoning_output_tokens": 0}
    await writer.append_items(AppendThreadItemsParams(tid, [items.token_count({**usage, "total_tokens": 7})]))
    listed = (await other.list_threads(ListThreadsParams(search_term="named"))).items
    assert [t.thread_id for t in listed] == [tid]
    assert listed[0].name == "Named"  # the writer did not write its stale view over the rename
    assert listed[0].token_usage == TokenUsage(3, 0, 4, 0, 7)  # and its append shows in the listing
    await writer.shutdown_thread(tid)
    thread = await other.read_thread(ReadThreadParams(tid))
    assert (thread.name, thread.token_usage) == ("Named", TokenUsage(3, 0, 4, 0, 7))
