"""One-step appends (``append_unheld``): a thread nobody holds is created or continued in one
transaction, from a remembered state when the store has one; a remembered state that went stale
(another store wrote, the thread was deleted) stores nothing wrong; a live writer anywhere is a
``Conflict`` with nothing stored."""

from __future__ import annotations

import pytest

from threadstore import (
    AppendThreadItemsParams,
    Conflict,
    ListThreadsParams,
    LoadThreadHistoryParams,
    ReadThreadParams,
    ResumeThreadParams,
    ThreadMetadataPatch,
    ThreadStore,
    UpdateThreadMetadataParams,
    items,
)
from threadstore._contract.features import OneShotAppends
from threadstore.testing import create_params

from ._util import sql
from .conftest import StoreFactory


def _append(thread_id: str, text: str) -> AppendThreadItemsParams:
    return AppendThreadItemsParams(thread_id, [items.user_response_message(text), items.user_message(text)])


async def _texts(store: ThreadStore, thread_id: str) -> list[str]:
    history = await store.load_history(LoadThreadHistoryParams(thread_id))
    return [i["payload"]["message"] for i in history.items if items.is_event(i, "user_message")]


async def test_one_step_appends_create_continue_and_follow_other_writers(open_pg: StoreFactory, postgres_dsn: str) -> None:
    first, second = open_pg(), open_pg()
    assert isinstance(first, OneShotAppends)
    create = create_params()
    tid = create.thread_id
    await first.append_unheld(create, _append(tid, "one"))  # creates the thread, session_meta first
    await first.append_unheld(create, _append(tid, "two"))  # from the state it remembers
    await second.append_unheld(create, _append(tid, "three"))  # another store: its state is unknown
    await first.append_unheld(create, _append(tid, "four"))  # remembered state is stale: nothing wrong
    assert await _texts(first, tid) == ["one", "two", "three", "four"]
    history = await first.load_history(LoadThreadHistoryParams(tid))
    assert history.items[0]["type"] == "session_meta"
    assert [r[0] for r in sql(postgres_dsn, "SELECT seq FROM threadstore.items ORDER BY seq")] == list(range(9))
    # Deleted meanwhile: the remembered state does not resurrect half a thread.
    await second.delete_thread(tid)
    await first.append_unheld(create, _append(tid, "five"))
    assert await _texts(first, tid) == ["five"]
    assert (await first.read_thread(ReadThreadParams(tid))).preview == "five"
    # Renamed elsewhere meanwhile: the next one-step append keeps the name.
    await second.update_thread_metadata(UpdateThreadMetadataParams(tid, ThreadMetadataPatch(name="kept")))
    await first.append_unheld(create, _append(tid, "six"))
    thread = await second.read_thread(ReadThreadParams(tid))
    assert (thread.name, thread.preview) == ("kept", "five")
    listed = await second.list_threads(ListThreadsParams())
    assert [(t.thread_id, t.name) for t in listed.items] == [(tid, "kept")]


async def test_a_live_writer_anywhere_refuses_one_step_appends(open_pg: StoreFactory) -> None:
    first, second = open_pg(), open_pg()
    create = create_params()
    tid = create.thread_id
    await first.append_unheld(create, _append(tid, "one"))
    await second.resume_thread(ResumeThreadParams(tid))
    with pytest.raises(Conflict):
        await first.append_unheld(create, _append(tid, "refused"))  # remembered state, lease held
    with pytest.raises(Conflict):
        await second.append_unheld(create, _append(tid, "refused"))  # its own live writer
    await second.append_items(_append(tid, "live"))
    await second.shutdown_thread(tid)
    await first.append_unheld(create, _append(tid, "after"))
    assert await _texts(first, tid) == ["one", "live", "after"]
    # The lease a one-step append leaves is expired: a live writer takes the thread at once.
    await second.resume_thread(ResumeThreadParams(tid))
    await second.shutdown_thread(tid)
