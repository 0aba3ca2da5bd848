"""Paginated history: a page of turns or items of one long thread, against reading it whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    ListItemsParams,
    ListTurnsParams,
    LoadThreadHistoryParams,
    items,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore

from ..measure import time_async

__all__ = ["pages"]

#: Records one turn writes (as Codex of the 0.125 era writes a turn).
RECORDS_PER_TURN = 7


def _turn(n: int) -> list[dict[str, Any]]:
    question, answer = f"question {n}: " + "q" * 80, f"answer {n}: " + "a" * 300
    return [
        items.task_started(f"turn-{n}", started_at=n),
        items.user_response_message(question),
        items.user_message(question),
        items.event("agent_reasoning", text="r" * 120),
        items.agent_message(answer),
        items.assistant_message(answer),
        items.task_complete(f"turn-{n}", answer, completed_at=n, duration_ms=1),
    ]


async def pages(work: Path, count: int, runs: int = 20) -> dict[str, Any]:
    """A ``count``-record thread of Codex turns on the local store: the first page of 50 turns
    (which builds the thread's page index), a later page (warm), a page of 50 items, the newest
    page after one more turn was appended, and the whole history for comparison."""
    store = LocalThreadStore(work / "pages")
    try:
        tid = new_thread_id()
        await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/bench", model_provider="openai"))
        turns = count // RECORDS_PER_TURN
        for start in range(0, turns, 500):
            batch = [item for n in range(start, min(turns, start + 500)) for item in _turn(n)]
            await store.append_items(AppendThreadItemsParams(tid, batch))
        await store.flush_thread(tid)
        first: list[Any] = []

        async def first_page() -> None:
            first.append(await store.list_turns(ListTurnsParams(tid, page_size=50)))

        first_s = await time_async(first_page, runs=1)
        cursor = first[0].next_cursor

        async def later_page() -> None:
            page = await store.list_turns(ListTurnsParams(tid, page_size=50, cursor=cursor))
            assert len(page.turns) == 50

        async def item_page() -> None:
            page = await store.list_items(ListItemsParams(tid, page_size=50))
            assert len(page.items) == 50

        async def newest_page() -> None:
            await store.list_turns(ListTurnsParams(tid, page_size=50))

        async def whole() -> None:
            await store.load_history(LoadThreadHistoryParams(tid))

        page_s = await time_async(later_page, runs=runs)
        items_s = await time_async(item_page, runs=runs)
        await store.append_items(AppendThreadItemsParams(tid, _turn(turns)))
        after_append_s = await time_async(newest_page, runs=1)  # catches up with the new turn
        return {
            "first_page_ms": first_s * 1e3,
            "page_ms": page_s * 1e3,
            "items_page_ms": items_s * 1e3,
            "after_append_ms": after_append_s * 1e3,
            "load_history_ms": await time_async(whole, runs=3) * 1e3,
        }
    finally:
        await store.close()
