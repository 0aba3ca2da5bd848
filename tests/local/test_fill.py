"""The background fill of a home never indexed: pages answered while it runs are the pages the
complete index gives; what other programs (and this store) do meanwhile ends up in the index."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from threadstore import (
    AppendThreadItemsParams,
    Conflict,
    CreateThreadParams,
    ListThreadsParams,
    ReadThreadParams,
    SearchThreadsParams,
    StoredThread,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.local import fill as fill_module
from threadstore._backends.local.workers import Job, Pool, build_row
from threadstore._rollout.items import user_message

from ._home import BASE, Made, rollout, write_home
from ._util import append_bytes


@pytest.fixture
def slow_fill(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a rollout in the fill takes a millisecond longer: a page answered early is
    answered while the fill still runs, and changes made then land in the middle of it."""

    def slow(job: Job, default_provider: str) -> Any:
        import time

        time.sleep(0.001)
        return build_row(job, default_provider)

    monkeypatch.setattr(fill_module, "build_row", slow)


async def settled(store: LocalThreadStore) -> None:
    """Wait until the store's background fill is over."""
    await store._catalog.settle()


def running(store: LocalThreadStore) -> bool:
    """Whether the fill still has active rollouts to read."""
    fill = store._catalog.fill
    return fill is not None and not fill.collection_done(archived=False)


QUERIES: dict[str, ListThreadsParams] = {
    "newest": ListThreadsParams(page_size=50),
    "newest-cwd": ListThreadsParams(page_size=20, cwd_filters=["/srv/work/beta"]),
    "newest-provider": ListThreadsParams(page_size=20, model_providers=["local-llm"]),
    "newest-source": ListThreadsParams(page_size=20, allowed_sources=["vscode"]),
    "oldest": ListThreadsParams(page_size=30, sort_direction="asc"),
    "updated": ListThreadsParams(page_size=30, sort_key="updated_at"),
    "updated-oldest": ListThreadsParams(page_size=30, sort_key="updated_at", sort_direction="asc"),
    "archived": ListThreadsParams(page_size=10, archived=True),
    "title": ListThreadsParams(page_size=10, search_term="topic3"),
}
#: Orders the fill can answer before it ends (newest first by creation).
EARLY = {"newest", "newest-cwd", "newest-provider", "newest-source"}


def _expected(made: list[Made], params: ListThreadsParams) -> list[str]:
    """The ids of the first page, from what was written (created_at descending only)."""
    rows = [m for m in made if m.visible and m.archived == params.archived]
    if params.cwd_filters:
        rows = [m for m in rows if m.cwd in params.cwd_filters]
    if params.model_providers:
        rows = [m for m in rows if m.provider in params.model_providers]
    if params.allowed_sources:
        rows = [m for m in rows if m.source in params.allowed_sources]
    rows.sort(key=lambda m: (m.created, m.thread_id), reverse=True)
    return [m.thread_id for m in rows[: params.page_size]]


def _ids(threads: list[StoredThread]) -> list[str]:
    return [t.thread_id for t in threads]


@pytest.mark.usefixtures("slow_fill")
@pytest.mark.parametrize("offset_hours", [9, -7])
@pytest.mark.parametrize("name", list(QUERIES))
async def test_page_during_fill_is_the_page_of_the_complete_index(tmp_path: Path, name: str, offset_hours: int) -> None:
    made = write_home(tmp_path / "home", offset_hours=offset_hours)
    params = QUERIES[name]
    store = LocalThreadStore(tmp_path / "home")
    try:
        first = await store.list_threads(params)
        early = running(store)
        second = (
            await store.list_threads(dataclasses.replace(params, cursor=first.next_cursor))
            if first.next_cursor
            else None
        )
        if name in EARLY:
            # Answered while the fill had not read most rollouts yet.
            assert early
            assert _ids(first.items) == _expected(made, params)
        await settled(store)
        assert store._catalog.fill is None
        after = await store.list_threads(params)
        assert after.items == first.items
        assert after.next_cursor == first.next_cursor
        if second is not None:
            again = await store.list_threads(dataclasses.replace(params, cursor=after.next_cursor))
            assert again.items == second.items
            assert again.next_cursor == second.next_cursor
    finally:
        await store.close()


@pytest.mark.usefixtures("slow_fill")
async def test_reads_and_creates_during_fill_see_threads_not_indexed_yet(tmp_path: Path) -> None:
    made = write_home(tmp_path / "home")
    oldest = next(m for m in made if m.visible and not m.archived)
    store = LocalThreadStore(tmp_path / "home")
    try:
        await store.list_threads(ListThreadsParams(page_size=5))
        assert running(store)
        # The oldest thread is the fill's last: reading it indexes it at once.
        thread = await store.read_thread(ReadThreadParams(oldest.thread_id))
        assert thread.first_user_message == oldest.prompt
        assert running(store)
        with pytest.raises(Conflict):
            await store.create_thread(CreateThreadParams(thread_id=made[1].thread_id, cwd="/w", model_provider="p"))
        await settled(store)
        assert (await store.read_thread(ReadThreadParams(oldest.thread_id))) == thread
    finally:
        await store.close()


async def _all(store: LocalThreadStore, params: ListThreadsParams) -> list[StoredThread]:
    """Every thread of a listing, page after page."""
    threads: list[StoredThread] = []
    while True:
        page = await store.list_threads(params)
        threads.extend(page.items)
        if page.next_cursor is None:
            return threads
        params = dataclasses.replace(params, cursor=page.next_cursor)


async def _everything(store: LocalThreadStore) -> dict[str, Any]:
    """Every listing order of both collections, whole, and a few searches."""
    result: dict[str, Any] = {}
    for archived in (False, True):
        for key in ("created_at", "updated_at"):
            for direction in ("asc", "desc"):
                params = ListThreadsParams(
                    page_size=400,
                    archived=archived,
                    sort_key=key,
                    sort_direction=direction,
                )
                result[f"{archived}-{key}-{direction}"] = await _all(store, params)
    for term in ("typed later", "prompt number 12 ", "answer 99 done", "topic5"):
        hits = await store.search_threads(SearchThreadsParams(term, page_size=100))
        result[f"search {term}"] = [(h.thread.thread_id, h.snippet) for h in hits.items]
    return result


@pytest.mark.usefixtures("slow_fill")
async def test_changes_made_during_fill_end_up_in_the_index(tmp_path: Path) -> None:
    home = tmp_path / "home"
    made = write_home(home)
    active = [m for m in made if not m.archived]
    store = LocalThreadStore(home)
    try:
        await store.list_threads(ListThreadsParams(page_size=5))
        assert running(store)
        # What other programs do while the fill runs: append to the newest thread (indexed
        # already) and to the oldest (not yet), add a rollout to an old day, delete one, move one
        # to the archive, rename one; and this store creates a thread of its own.
        extra = json.dumps({"timestamp": "2027-01-01T00:00:00.000Z", **user_message("typed later")}) + "\n"
        for m in (active[-1], active[0]):
            append_bytes(m.path, extra.encode())
        added = rollout(home, 5000, BASE + (active[3].created - BASE) / 2, offset_hours=9)
        active[5].path.unlink()
        (home / "archived_sessions").mkdir(exist_ok=True)
        os.rename(active[8].path, home / "archived_sessions" / active[8].path.name)
        rename = {"id": active[11].thread_id, "thread_name": "renamed meanwhile", "updated_at": "x"}
        append_bytes(home / "session_index.jsonl", json.dumps(rename).encode() + b"\n")
        own = "019b0000-0000-7000-8000-000000000001"
        await store.create_thread(CreateThreadParams(thread_id=own, cwd="/w", model_provider="p"))
        await store.append_items(AppendThreadItemsParams(own, [user_message("typed later by us")]))
        await store.shutdown_thread(own)
        assert running(store)
        await settled(store)
        seen = await _everything(store)
    finally:
        await store.close()
    listed = {t.thread_id: t for t in seen["False-created_at-desc"]}
    assert added.thread_id in listed
    assert own in listed
    assert active[5].thread_id not in listed
    assert active[8].thread_id in {t.thread_id for t in seen["True-created_at-desc"]}
    assert listed[active[11].thread_id].name == "renamed meanwhile"
    assert {active[-1].thread_id, active[0].thread_id, own} <= {t for t, _ in seen["search typed later"]}
    # The same as an index built afterwards from the files alone.
    shutil.rmtree(home / ".threadstore")
    fresh = LocalThreadStore(home)
    try:
        assert await _everything(fresh) == seen
    finally:
        await fresh.close()


async def test_fill_in_worker_processes_gives_the_index_a_fill_in_thread_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    write_home(home, days=30, per_day=20)
    started: list[int] = []
    real = Pool.start

    def counted(count: int, default_provider: str) -> Pool | None:
        pool = real(count, default_provider)
        started.append(len(pool.workers) if pool else 0)
        return pool

    monkeypatch.setattr(Pool, "start", counted)
    monkeypatch.setattr(fill_module, "WORKER_THRESHOLD", 0)
    store = LocalThreadStore(home)
    try:
        await settled(await _opened(store))
        in_workers = await _everything(store)
    finally:
        await store.close()
    assert started
    assert started[0] >= 1
    shutil.rmtree(home / ".threadstore")
    monkeypatch.setattr(fill_module, "WORKER_THRESHOLD", 10**9)
    store = LocalThreadStore(home)
    try:
        await settled(await _opened(store))
        in_thread = await _everything(store)
    finally:
        await store.close()
    assert len(started) == 1
    assert in_workers == in_thread


async def _opened(store: LocalThreadStore) -> LocalThreadStore:
    await store.list_threads(ListThreadsParams(page_size=1))
    return store


@pytest.mark.usefixtures("slow_fill")
async def test_closing_during_fill_keeps_what_was_indexed_and_the_next_store_completes_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_home(home)
    store = LocalThreadStore(home)
    try:
        page = await store.list_threads(ListThreadsParams(page_size=50))
        assert running(store)
    finally:
        await store.close()
    again = LocalThreadStore(home)
    try:
        assert (await again.list_threads(ListThreadsParams(page_size=50))).items == page.items
        await settled(again)
        whole = await _everything(again)
    finally:
        await again.close()
    shutil.rmtree(home / ".threadstore")
    fresh = LocalThreadStore(home)
    try:
        assert await _everything(fresh) == whole
    finally:
        await fresh.close()


async def test_a_rollout_named_far_from_its_creation_time_is_listed_by_the_complete_index(tmp_path: Path) -> None:
    home = tmp_path / "home"
    made = write_home(home, days=20, per_day=10)
    # Named as if created two months earlier: an early page may miss it, the complete index not.
    odd = rollout(
        home,
        7777,
        made[-1].created + (made[-1].created - made[-2].created) / 2,
        offset_hours=0,
        named_time=(BASE - (made[-1].created - BASE)).replace(tzinfo=None),
    )
    store = LocalThreadStore(home)
    try:
        await store.list_threads(ListThreadsParams(page_size=5))
        await settled(store)
        assert _ids((await store.list_threads(ListThreadsParams(page_size=1))).items) == [odd.thread_id]
    finally:
        await store.close()


@pytest.mark.usefixtures("slow_fill")
async def test_a_search_waits_for_its_collection_and_reports_progress(tmp_path: Path) -> None:
    made = write_home(tmp_path / "home", days=30, per_day=10)
    reports: list[tuple[int, int]] = []
    store = LocalThreadStore(tmp_path / "home", index_progress=lambda done, total: reports.append((done, total)))
    try:
        hits = await store.search_threads(SearchThreadsParams("topic4", page_size=100))
    finally:
        await store.close()
    expected = {m.thread_id for m in made if m.visible and not m.archived and "topic4" in m.prompt}
    assert {h.thread.thread_id for h in hits.items} == expected
    assert len(reports) > 1
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)
    # The last report: every active rollout read (the archive comes last).
    assert reports[-1][0] >= sum(1 for m in made if not m.archived)
