"""History tails (``LoadThreadHistoryParams.tail``) and history edits (``thread_items_popped``,
``thread_history_cleared``): every reader of a store honours the edits."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from threadstore import (
    InvalidRequest,
    ListItemsParams,
    ListTurnsParams,
    LoadThreadHistoryParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    StoredTurn,
    ThreadNotFound,
    ThreadStore,
    new_thread_id,
)
from threadstore._rollout.edits import history_cleared, items_popped
from threadstore.testing._builders import append, create_params, read_items, turn


def _texts(store_turns: Sequence[StoredTurn]) -> list[str]:
    shown: list[str] = []
    for stored in store_turns:
        for item in stored.items:
            text = item.get("text")
            if isinstance(text, str):
                shown.append(text)
            for part in item.get("content") or ():
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    shown.append(part["text"])
    return shown


async def _search(store: ThreadStore, term: str) -> list[str]:
    page = await store.search_threads(SearchThreadsParams(term))
    return [hit.thread.thread_id for hit in page.items]


class EditTests:
    """History tails and history edits (see the module documentation)."""

    async def test_tail_reads_the_last_lines(self, store: ThreadStore) -> None:
        params = create_params()
        await store.create_thread(params)
        for n in range(30):
            await append(store, params.thread_id, turn(f"question {n}"))
        await store.shutdown_thread(params.thread_id)
        whole = await store.load_history(LoadThreadHistoryParams(params.thread_id))
        assert len(whole.items) == 1 + 30 * 4
        for count in (1, 7, 120, 121, 500):
            tail = await store.load_history(LoadThreadHistoryParams(params.thread_id, tail=count))
            assert tail.items == whole.items[-count:]
            assert tail.timestamps == (whole.timestamps[-count:] if whole.timestamps is not None else None)

    async def test_tail_errors_as_load_history(self, store: ThreadStore) -> None:
        with pytest.raises(ThreadNotFound):
            await store.load_history(LoadThreadHistoryParams(new_thread_id(), tail=5))
        for bad in (0, -1, True, "3"):
            with pytest.raises(InvalidRequest):
                LoadThreadHistoryParams(new_thread_id(), tail=bad)  # type: ignore[arg-type]
        params = create_params()
        await store.create_thread(params)
        await append(store, params.thread_id, turn("archived soon"))
        await store.shutdown_thread(params.thread_id)
        await store.archive_thread(params.thread_id)
        with pytest.raises(InvalidRequest):
            await store.load_history(LoadThreadHistoryParams(params.thread_id, tail=2))
        tail = await store.load_history(LoadThreadHistoryParams(params.thread_id, tail=2, include_archived=True))
        assert len(tail.items) == 2

    async def test_a_pop_removes_the_last_item_for_every_reader(self, store: ThreadStore) -> None:
        params = create_params()
        await store.create_thread(params)
        await append(store, params.thread_id, turn("kept question", "kept answer"))
        await append(store, params.thread_id, turn("zebra question", "zebra answer"))
        # The last turn's items are its user message (and mirror) and its answer (and mirror):
        # two pops take the answer, then the question, with everything after each.
        await append(store, params.thread_id, [items_popped(1)])
        await append(store, params.thread_id, [items_popped(1)])
        await store.shutdown_thread(params.thread_id)
        thread_id = params.thread_id
        turns = await store.list_turns(ListTurnsParams(thread_id, items_view="full"))
        shown = _texts(turns.turns)
        assert "kept question" in " ".join(shown)
        assert "zebra" not in " ".join(shown)
        item_page = await store.list_items(ListItemsParams(thread_id))
        assert all("zebra" not in str(i.item) for i in item_page.items)
        assert thread_id in await _search(store, "kept answer")
        assert thread_id not in await _search(store, "zebra")
        stored = await store.read_thread(ReadThreadParams(thread_id))
        assert stored.preview == "kept question"
        # The lines themselves stay: nothing is rewritten in place.
        lines = await read_items(store, thread_id)
        assert sum(1 for line in lines if "zebra" in str(line)) == 4

    async def test_a_clear_removes_everything_before_it(self, store: ThreadStore) -> None:
        params = create_params()
        await store.create_thread(params)
        await append(store, params.thread_id, turn("walrus question", "walrus answer"))
        await append(store, params.thread_id, [history_cleared()])
        await store.shutdown_thread(params.thread_id)
        thread_id = params.thread_id
        assert thread_id not in await _search(store, "walrus")
        stored = await store.read_thread(ReadThreadParams(thread_id))
        assert stored.preview == ""
        assert stored.first_user_message is None
        assert (await store.list_turns(ListTurnsParams(thread_id))).turns == []
        await store.resume_thread(ResumeThreadParams(thread_id))
        await append(store, thread_id, turn("walrus again", "and again"))
        await store.shutdown_thread(thread_id)
        stored = await store.read_thread(ReadThreadParams(thread_id))
        assert stored.preview == "walrus again"
        assert thread_id in await _search(store, "walrus again")
        turns = await store.list_turns(ListTurnsParams(thread_id, items_view="full"))
        assert "walrus question" not in " ".join(_texts(turns.turns))
        assert "walrus again" in " ".join(_texts(turns.turns))
