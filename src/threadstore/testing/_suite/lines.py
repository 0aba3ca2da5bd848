"""Lines as stored: each item's time, a copied thread's own first line, forks by reference."""

from __future__ import annotations

import pytest

from threadstore._contract.base import ThreadStore
from threadstore._contract.listing import ListThreadsParams, SearchThreadsParams
from threadstore._contract.types import LoadThreadHistoryParams, ReadThreadParams, ResumeThreadParams
from threadstore._rollout.items import session_meta, user_message
from threadstore._time import parse_timestamp
from threadstore.errors import InvalidRequest
from threadstore.testing._backend import Backend
from threadstore.testing._builders import append, create_params, new_thread, read_items, turn

T0 = "2030-01-02T03:04:05.006Z"
T1 = "2030-01-02T03:04:06.007Z"
T2 = "2030-01-02T03:04:07.008Z"


class LineTests:
    """See the module documentation."""

    async def test_histories_say_when_each_item_was_written(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, shutdown=False)
        stamped = {"timestamp": T1, **user_message("stamped")}
        await append(store, thread_id, [stamped, user_message("unstamped")])
        await store.shutdown_thread(thread_id)
        history = await store.load_history(LoadThreadHistoryParams(thread_id))
        assert history.timestamps is not None
        assert len(history.timestamps) == len(history.items)
        assert all("timestamp" not in item for item in history.items)
        assert history.items[-2] == user_message("stamped")
        assert history.timestamps[-2] == T1
        assert parse_timestamp(history.timestamps[-1]) is not None
        assert history.lines()[-2] == stamped
        read = await store.read_thread(ReadThreadParams(thread_id, include_history=True))
        assert read.history is not None
        assert read.history.timestamps == history.timestamps

    async def test_integers_of_any_size_come_back_as_they_went_in(self, backend: Backend) -> None:
        store = await backend.open()
        thread_id = await new_thread(store, shutdown=False)
        wide = {
            "type": "response_item",
            "payload": {"type": "function_call_output", "big": 10**29 + 7, "neg": -(2**70), "max": 2**64 - 1},
        }
        await append(store, thread_id, [wide])
        await store.shutdown_thread(thread_id)
        reopened = await backend.open()
        items = await read_items(reopened, thread_id)
        assert items[-1] == wide
        assert [type(v) for v in items[-1]["payload"].values()] == [str, int, int, int]

    async def test_a_thread_keeps_its_own_first_line(self, store: ThreadStore) -> None:
        params = create_params()
        own = {
            "timestamp": T0,
            **session_meta(params.thread_id, timestamp=T0, cwd="/copied/from", originator="elsewhere", extra={"x": 1}),
        }
        await store.create_thread(params)
        await append(store, params.thread_id, [own, {"timestamp": T1, **user_message("copied")}])
        await store.shutdown_thread(params.thread_id)
        history = await store.load_history(LoadThreadHistoryParams(params.thread_id))
        assert history.lines() == [own, {"timestamp": T1, **user_message("copied")}]
        thread = await store.read_thread(ReadThreadParams(params.thread_id))
        assert thread.cwd == "/copied/from"
        assert thread.created_at == parse_timestamp(T0)
        assert thread.updated_at == parse_timestamp(T1)

    async def test_another_threads_session_meta_is_an_ordinary_item(self, store: ThreadStore) -> None:
        params = create_params()
        foreign = session_meta(create_params().thread_id, timestamp=T0, cwd="/elsewhere")
        await store.create_thread(params)
        await append(store, params.thread_id, [foreign, *turn("mine")])
        await store.shutdown_thread(params.thread_id)
        items = await read_items(store, params.thread_id)
        assert items[0]["payload"]["id"] == params.thread_id
        assert items[1] == foreign
        assert (await store.read_thread(ReadThreadParams(params.thread_id))).cwd == "/srv/project"

    async def test_a_fork_by_reference_reads_as_its_parent_then_itself(self, store: ThreadStore) -> None:
        parent = await new_thread(store, "the parent's question")
        await store.resume_thread(ResumeThreadParams(parent))
        await append(store, parent, turn("after the fork point"))
        await store.shutdown_thread(parent)
        parent_items = await read_items(store, parent)
        cut = 1 + len(turn("x"))  # the parent's session_meta and first turn
        child = create_params()
        reference = session_meta(
            child.thread_id, timestamp=T2, cwd="/srv/project", forked_from_id=parent, forked_from_ordinal_exclusive=cut
        )
        await store.create_thread(child)
        await append(store, child.thread_id, [reference, *turn("the fork's own question")])
        await store.shutdown_thread(child.thread_id)
        resolved = await read_items(store, child.thread_id)
        assert resolved == [reference, *parent_items[:cut], *turn("the fork's own question")]
        as_stored = await store.load_history(LoadThreadHistoryParams(child.thread_id, resolve_forks=False))
        assert as_stored.items == [reference, *turn("the fork's own question")]
        thread = await store.read_thread(ReadThreadParams(child.thread_id))
        assert thread.preview == "the parent's question"
        assert thread.forked_from_id == parent
        hits = await store.search_threads(SearchThreadsParams(search_term="parent's question"))
        assert {h.thread.thread_id for h in hits.items} == {parent, child.thread_id}
        listed = {t.thread_id for t in (await store.list_threads(ListThreadsParams())).items}
        assert {parent, child.thread_id} <= listed

    async def test_a_bad_first_line_is_refused_and_changes_nothing(self, store: ThreadStore) -> None:
        params = create_params()
        await store.create_thread(params)
        bad = session_meta(params.thread_id, timestamp=T0, cwd="/x", oops={1, 2})  # no JSON for a set
        with pytest.raises(InvalidRequest):
            await append(store, params.thread_id, [bad, user_message("hi")])
        await append(store, params.thread_id, [user_message("hi")])
        await store.shutdown_thread(params.thread_id)
        items = await read_items(store, params.thread_id)
        assert items[0]["payload"]["cwd"] == "/srv/project"
