"""Paginated history: ``list_turns`` and ``list_items`` (``threadstore._contract.paging``).

Every page sequence, in either direction and at any page size, adds up to the turns (and the
items) the whole history shows; cursors stay valid while the thread grows; rollback markers,
the archive and bad input are handled as everywhere else in the contract."""

from __future__ import annotations

from typing import Any

import pytest

from threadstore import InvalidRequest, ThreadNotFound, ThreadStore, items, new_thread_id
from threadstore._contract.paging import ItemPage, ListItemsParams, ListTurnsParams, StoredTurn, TurnPage
from threadstore._rollout.items import Item
from threadstore._rollout.turns import build_stored_turns
from threadstore.testing._builders import append, create_params, read_items, turn


def _explicit(turn_id: str, text: str, *, aborted: bool = False) -> list[Item]:
    """One turn with turn events, as Codex of the 0.125 era writes it."""
    end = (
        items.turn_aborted(turn_id, completed_at=20, duration_ms=5)
        if aborted
        else items.task_complete(turn_id, f"echo: {text}", completed_at=20, duration_ms=5)
    )
    return [
        items.task_started(turn_id, started_at=10),
        items.turn_context(cwd="/srv/project", model="m"),
        *turn(text),
        items.event("agent_reasoning", text=f"thinking about {text}"),
        end,
    ]


def _history() -> list[Item]:
    """Turns of every kind: explicit (completed, aborted), implicit, and one without items."""
    out: list[Item] = []
    for n in range(4):
        out += _explicit(f"turn-a{n}", f"question {n}", aborted=n == 2)
    out += turn("an implicit one") + turn("and another")
    out += [items.task_started("turn-empty"), items.task_complete("turn-empty", None)]
    for n in range(3):
        out += _explicit(f"turn-b{n}", f"later {n}")
    return out


async def _thread(store: ThreadStore, history: list[Item], *, shutdown: bool = True) -> str:
    params = create_params()
    await store.create_thread(params)
    await append(store, params.thread_id, history)
    await store.flush_thread(params.thread_id)
    if shutdown:
        await store.shutdown_thread(params.thread_id)
    return params.thread_id


async def _expected(store: ThreadStore, thread_id: str) -> list[StoredTurn]:
    return build_stored_turns(await read_items(store, thread_id, include_archived=True))


def _keyed(turns: list[StoredTurn]) -> list[tuple[str, int, str, Any]]:
    """(turn id, ordinal, key, item) of every item the turns show."""
    flat = [(t.turn_id, item) for t in turns for item in t.items]
    return [(tid, n, item["id"], item) for n, (tid, item) in enumerate(flat)]


async def _all_turns(store: ThreadStore, thread_id: str, size: int, direction: str, **extra: Any) -> list[StoredTurn]:
    turns: list[StoredTurn] = []
    cursor = None
    while True:
        page: TurnPage = await store.list_turns(
            ListTurnsParams(thread_id, cursor=cursor, page_size=size, sort_direction=direction, **extra)  # type: ignore[arg-type]
        )
        assert len(page.turns) <= size
        assert (page.backwards_cursor is None) == (not page.turns)
        turns += page.turns
        if page.next_cursor is None:
            break
        assert len(page.turns) == size
        cursor = page.next_cursor
    return turns if direction == "asc" else turns[::-1]


async def _all_items(store: ThreadStore, thread_id: str, size: int, direction: str, **extra: Any) -> list[Any]:
    found: list[Any] = []
    cursor = None
    while True:
        page: ItemPage = await store.list_items(
            ListItemsParams(thread_id, cursor=cursor, page_size=size, sort_direction=direction, **extra)  # type: ignore[arg-type]
        )
        assert len(page.items) <= size
        found += [(i.turn_id, i.item_ordinal, i.item_key, i.item) for i in page.items]
        if page.next_cursor is None:
            break
        assert len(page.items) == size
        cursor = page.next_cursor
    return found if direction == "asc" else found[::-1]


class PageTests:
    """Paginated history (see the module documentation)."""

    async def test_pages_of_turns_and_items_add_up_to_the_whole_history(self, store: ThreadStore) -> None:
        thread_id = await _thread(store, _history())
        expected = await _expected(store, thread_id)
        assert [t.turn_id for t in expected][:3] == ["turn-a0", "turn-a1", "turn-a2"]
        assert len(expected) == 10
        assert expected[2].status == "interrupted"
        for size in (1, 3, 4, 50):
            for direction in ("asc", "desc"):
                assert await _all_turns(store, thread_id, size, direction, items_view="full") == expected
                assert await _all_items(store, thread_id, size, direction) == _keyed(expected)

    async def test_a_fork_by_reference_pages_through_its_parent(self, store: ThreadStore) -> None:
        parent = await _thread(store, _history())
        parent_items = await read_items(store, parent)
        cut = next(i for i, item in enumerate(parent_items) if item["payload"].get("turn_id") == "turn-b0")
        child = create_params()
        reference = items.session_meta(
            child.thread_id,
            timestamp="2030-01-01T00:00:00.000Z",
            cwd="/w",
            forked_from_id=parent,
            forked_from_ordinal_exclusive=cut,
        )
        await store.create_thread(child)
        await append(store, child.thread_id, [reference, *_explicit("turn-own", "the fork's own")])
        await store.shutdown_thread(child.thread_id)
        expected = await _expected(store, child.thread_id)
        assert [t.turn_id for t in expected][-2:] == ["turn-empty", "turn-own"]  # the parent's, then its own
        for size in (1, 4, 50):
            for direction in ("asc", "desc"):
                assert await _all_turns(store, child.thread_id, size, direction, items_view="full") == expected
                assert await _all_items(store, child.thread_id, size, direction) == _keyed(expected)

    async def test_items_views_and_defaults(self, store: ThreadStore) -> None:
        thread_id = await _thread(store, _history())
        expected = await _expected(store, thread_id)
        page = await store.list_turns(ListTurnsParams(thread_id, page_size=2))  # newest first, summary
        assert [t.turn_id for t in page.turns] == [expected[-1].turn_id, expected[-2].turn_id]
        last = expected[-1]
        assert page.turns[0].items_view == "summary"
        assert [i["type"] for i in page.turns[0].items] == ["userMessage", "agentMessage"]
        assert page.turns[0].items == [last.items[0], last.items[-2]]  # the reasoning comes last
        bare = await store.list_turns(ListTurnsParams(thread_id, page_size=50, items_view="not_loaded"))
        assert [t.items for t in bare.turns] == [[]] * len(expected)
        assert [(t.turn_id, t.status) for t in bare.turns[::-1]] == [(t.turn_id, t.status) for t in expected]
        first = await store.list_items(ListItemsParams(thread_id, page_size=2))  # oldest first
        assert [i.item_ordinal for i in first.items] == [0, 1]

    async def test_items_of_one_turn(self, store: ThreadStore) -> None:
        thread_id = await _thread(store, _history())
        expected = _keyed(await _expected(store, thread_id))
        of_turn = [e for e in expected if e[0] == "turn-a1"]
        assert len(of_turn) == 3
        for direction in ("asc", "desc"):
            assert await _all_items(store, thread_id, 2, direction, turn_id="turn-a1") == of_turn
        empty = await store.list_items(ListItemsParams(thread_id, turn_id="turn-empty"))
        assert empty == ItemPage()
        with pytest.raises(InvalidRequest):
            await store.list_items(ListItemsParams(thread_id, turn_id="no-such-turn"))

    async def test_backwards_cursor_returns_the_anchor_and_what_lies_before(self, store: ThreadStore) -> None:
        thread_id = await _thread(store, _history())
        expected = await _expected(store, thread_id)
        newest = await store.list_turns(ListTurnsParams(thread_id, page_size=3, items_view="full"))
        assert newest.backwards_cursor is not None
        back = await store.list_turns(
            ListTurnsParams(thread_id, cursor=newest.backwards_cursor, sort_direction="asc", items_view="full")
        )
        assert back.turns == expected[-1:]
        assert back.next_cursor is None
        older = await store.list_turns(ListTurnsParams(thread_id, cursor=newest.next_cursor, page_size=3))
        assert older.backwards_cursor is not None
        forward = await store.list_turns(
            ListTurnsParams(thread_id, cursor=older.backwards_cursor, sort_direction="asc", page_size=50)
        )
        assert [t.turn_id for t in forward.turns] == [t.turn_id for t in expected[-4:]]
        items_page = await store.list_items(ListItemsParams(thread_id, page_size=4, sort_direction="desc"))
        assert items_page.backwards_cursor is not None
        again = await store.list_items(ListItemsParams(thread_id, cursor=items_page.backwards_cursor, page_size=2))
        assert [i.item_ordinal for i in again.items] == [items_page.items[0].item_ordinal]

    async def test_cursors_stay_valid_while_the_thread_grows(self, store: ThreadStore) -> None:
        thread_id = await _thread(store, _history(), shutdown=False)
        before = await _expected(store, thread_id)
        turns_page = await store.list_turns(ListTurnsParams(thread_id, page_size=4, sort_direction="asc"))
        items_page = await store.list_items(ListItemsParams(thread_id, page_size=5))
        older_page = await store.list_turns(ListTurnsParams(thread_id, page_size=4))
        await append(store, thread_id, [*_explicit("turn-c0", "more"), items.task_started("turn-open")])
        await append(store, thread_id, turn("inside the open turn"))
        await store.flush_thread(thread_id)
        after = await _expected(store, thread_id)
        assert after[: len(before)] == before
        assert len(after) == len(before) + 2
        assert after[-1].status == "in_progress"
        rest = await store.list_turns(
            ListTurnsParams(
                thread_id, cursor=turns_page.next_cursor, page_size=50, sort_direction="asc", items_view="full"
            )
        )
        assert [t.turn_id for t in turns_page.turns + rest.turns] == [t.turn_id for t in after]
        assert rest.turns == after[4:]
        more = await store.list_items(ListItemsParams(thread_id, cursor=items_page.next_cursor, page_size=1000))
        seen = [(i.turn_id, i.item_ordinal, i.item_key, i.item) for i in items_page.items + more.items]
        assert seen == _keyed(after)
        older = await store.list_turns(
            ListTurnsParams(thread_id, cursor=older_page.next_cursor, page_size=50, items_view="full")
        )
        assert older.turns[::-1] == before[: len(before) - 4]
        await store.shutdown_thread(thread_id)

    async def test_rollback_markers_are_respected(self, store: ThreadStore) -> None:
        history: list[Item] = []
        for n in range(4):
            history += _explicit(f"turn-r{n}", f"question {n}")
        thread_id = await _thread(store, history, shutdown=False)
        page = await store.list_turns(ListTurnsParams(thread_id, page_size=3, sort_direction="asc"))
        newest_items = await store.list_items(ListItemsParams(thread_id, page_size=1, sort_direction="desc"))
        last_item = newest_items.items
        await append(store, thread_id, [items.thread_rolled_back(2), *_explicit("turn-r9", "instead")])
        await store.shutdown_thread(thread_id)
        expected = await _expected(store, thread_id)
        assert [t.turn_id for t in expected] == ["turn-r0", "turn-r1", "turn-r9"]
        for direction in ("asc", "desc"):
            assert await _all_turns(store, thread_id, 2, direction, items_view="full") == expected
            assert await _all_items(store, thread_id, 2, direction) == _keyed(expected)
        # The page ended on a turn the rollback removed: its cursor no longer stands.
        with pytest.raises(InvalidRequest, match="cursor"):
            await store.list_turns(ListTurnsParams(thread_id, cursor=page.next_cursor, sort_direction="asc"))
        with pytest.raises(InvalidRequest, match="cursor"):  # the same for an item it removed
            await store.list_items(ListItemsParams(thread_id, cursor=newest_items.backwards_cursor))
        assert last_item
        stale = await store.list_items(ListItemsParams(thread_id, page_size=1, sort_direction="desc"))
        assert stale.items[0].turn_id == "turn-r9"
        assert stale.items[0].item_ordinal == last_item[0].item_ordinal - 3

    async def test_archived_threads_need_include_archived(self, store: ThreadStore) -> None:
        thread_id = await _thread(store, _history())
        await store.archive_thread(thread_id)
        with pytest.raises(InvalidRequest, match="archived"):
            await store.list_turns(ListTurnsParams(thread_id))
        with pytest.raises(InvalidRequest, match="archived"):
            await store.list_items(ListItemsParams(thread_id))
        turns = await store.list_turns(ListTurnsParams(thread_id, include_archived=True, page_size=50))
        assert len(turns.turns) == 10
        found = await store.list_items(ListItemsParams(thread_id, include_archived=True, page_size=1000))
        assert len(found.items) == len(_keyed(await _expected(store, thread_id)))

    async def test_unknown_unmaterialized_and_empty_threads(self, store: ThreadStore) -> None:
        with pytest.raises(ThreadNotFound):
            await store.list_turns(ListTurnsParams(new_thread_id()))
        with pytest.raises(ThreadNotFound):
            await store.list_items(ListItemsParams(new_thread_id()))
        params = create_params()
        await store.create_thread(params)
        with pytest.raises(ThreadNotFound):  # nothing stored yet
            await store.list_turns(ListTurnsParams(params.thread_id))
        await store.persist_thread(params.thread_id)
        assert await store.list_turns(ListTurnsParams(params.thread_id)) == TurnPage()
        assert await store.list_items(ListItemsParams(params.thread_id)) == ItemPage()
        await store.shutdown_thread(params.thread_id)

    async def test_bad_parameters_are_invalid_requests(self, store: ThreadStore) -> None:
        thread_id = await _thread(store, _history())
        for bad in (
            {"page_size": 0},
            {"page_size": 100_000},
            {"page_size": "5"},
            {"sort_direction": "up"},
            {"items_view": "everything"},
            {"cursor": "not a cursor"},
            {"cursor": ""},
            {"include_archived": "yes"},
        ):
            with pytest.raises(InvalidRequest):
                ListTurnsParams(thread_id, **bad)
        with pytest.raises(InvalidRequest):
            ListTurnsParams("not-a-thread-id")
        with pytest.raises(InvalidRequest):
            ListItemsParams(thread_id, turn_id="")
        item_page = await store.list_items(ListItemsParams(thread_id, page_size=2))
        turn_page = await store.list_turns(ListTurnsParams(thread_id, page_size=2))
        with pytest.raises(InvalidRequest, match="cursor"):  # a cursor of the other kind
            ListTurnsParams(thread_id, cursor=item_page.next_cursor)
        with pytest.raises(InvalidRequest, match="cursor"):
            ListItemsParams(thread_id, cursor=turn_page.next_cursor)
        other = await _thread(store, turn("elsewhere"))
        with pytest.raises(InvalidRequest, match="cursor"):  # a cursor of another thread's turn
            await store.list_turns(ListTurnsParams(other, cursor=turn_page.next_cursor))
