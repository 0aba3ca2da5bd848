"""Several ``threadstore serve --store postgresql://...`` processes in front of one database."""

from __future__ import annotations

import pytest

from threadstore import (
    AppendThreadItemsParams,
    Conflict,
    CreateThreadParams,
    ListThreadsParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    items,
    new_thread_id,
)
from threadstore._backends.remote import RemoteThreadStore

from ..remote.server_process import serve_process
from ._util import history


async def test_two_servers_serve_the_same_threads(postgres_dsn: str) -> None:
    with serve_process(postgres_dsn) as first_address, serve_process(postgres_dsn) as second_address:
        first = RemoteThreadStore(f"grpc://{first_address}", timeout=30)
        second = RemoteThreadStore(f"grpc://{second_address}", timeout=30)
        try:
            tid = new_thread_id()
            await first.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
            await first.append_items(
                AppendThreadItemsParams(
                    tid, [items.user_message("where is the zanzibar file"), items.agent_message("ok")]
                )
            )
            await first.flush_thread(tid)
            # The live writer held through the first server is refused through the second.
            with pytest.raises(Conflict):
                await second.resume_thread(ResumeThreadParams(tid))
            with pytest.raises(Conflict):
                await second.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
            # What the first server stored is read, listed and searched through the second at once.
            assert (await second.read_thread(ReadThreadParams(tid))).preview == "where is the zanzibar file"
            assert [t.thread_id for t in (await second.list_threads(ListThreadsParams())).items] == [tid]
            hits = (await second.search_threads(SearchThreadsParams("ZANZIBAR"))).items
            assert [(h.thread.thread_id, h.snippet) for h in hits] == [(tid, "where is the zanzibar file")]
            await first.append_items(AppendThreadItemsParams(tid, [items.agent_message("one more")]))
            assert (await history(second, tid))[-1]["payload"]["message"] == "one more"
            # Once released through the first, the second takes the thread over.
            await first.shutdown_thread(tid)
            await second.resume_thread(ResumeThreadParams(tid))
            await second.append_items(AppendThreadItemsParams(tid, [items.agent_message("from the second")]))
            await second.shutdown_thread(tid)
            loaded = await history(first, tid)
            assert [i["payload"].get("message") for i in loaded[1:]] == [
                "where is the zanzibar file",
                "ok",
                "one more",
                "from the second",
            ]
        finally:
            await first.close()
            await second.close()
