"""Reads, listing, pagination, filters and search."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from threadstore import (
    InvalidRequest,
    ListThreadsParams,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    ThreadNotFound,
    ThreadStore,
    TokenUsage,
    Unsupported,
    items,
)
from threadstore._rollout.items import Item
from threadstore._time import format_rfc3339
from threadstore.testing._backend import Backend
from threadstore.testing._builders import append, create_params, new_thread, turn


def _at(minute: int) -> datetime:
    """A fixed time (minutes after a start), so that orders never depend on the clock."""
    return datetime(2030, 1, 1, 12, minute, tzinfo=UTC)


def _stamped(new_items: list[Item], when: datetime) -> list[Item]:
    return [{"timestamp": format_rfc3339(when), **item} for item in new_items]


class ReadTests:
    """Reads, listing and search (see the module documentation)."""

    async def test_read_thread_reports_derived_metadata(self, store: ThreadStore) -> None:
        params = create_params(source="exec", model_provider="acme")
        await store.create_thread(params)
        await append(
            store,
            params.thread_id,
            [
                items.turn_context(cwd="/srv/project", model="gpt-test", effort="high"),
                *turn("## My request for Codex: fix the bug"),
                items.token_count(
                    {
                        "input_tokens": 10,
                        "cached_input_tokens": 1,
                        "output_tokens": 5,
                        "reasoning_output_tokens": 0,
                        "total_tokens": 15,
                    }
                ),
                *turn("second question"),
            ],
        )
        await store.shutdown_thread(params.thread_id)
        thread = await store.read_thread(ReadThreadParams(thread_id=params.thread_id))
        assert thread.thread_id == params.thread_id
        assert thread.preview == "fix the bug"
        assert thread.first_user_message == "fix the bug"
        assert thread.cwd == "/srv/project"
        assert thread.model_provider == "acme"
        assert thread.model == "gpt-test"
        assert thread.reasoning_effort == "high"
        assert thread.source == "exec"
        assert thread.token_usage == TokenUsage(10, 1, 5, 0, 15)
        assert thread.created_at.tzinfo is not None
        assert thread.created_at.utcoffset() == UTC.utcoffset(None)
        assert thread.updated_at >= thread.created_at
        assert thread.archived_at is None
        assert thread.memory_mode == "enabled"
        assert thread.history is None
        with_history = await store.read_thread(ReadThreadParams(thread_id=params.thread_id, include_history=True))
        assert with_history.history is not None
        assert with_history.history.items[0]["type"] == "session_meta"
        assert len(with_history.history.items) == 1 + 1 + 4 + 1 + 4

    async def test_fork_parent_is_reported(self, store: ThreadStore) -> None:
        parent = await new_thread(store, "parent")
        child = await new_thread(store, "child", forked_from_id=parent)
        thread = await store.read_thread(ReadThreadParams(thread_id=child))
        assert thread.forked_from_id == parent

    async def test_read_unknown_and_archived(self, store: ThreadStore) -> None:
        with pytest.raises(ThreadNotFound):
            await store.read_thread(ReadThreadParams(thread_id=create_params().thread_id))
        thread_id = await new_thread(store)
        await store.archive_thread(thread_id)
        with pytest.raises(InvalidRequest, match="archived"):
            await store.read_thread(ReadThreadParams(thread_id=thread_id))
        archived = await store.read_thread(ReadThreadParams(thread_id=thread_id, include_archived=True))
        assert archived.archived_at is not None
        restored = await store.unarchive_thread(thread_id)
        assert restored.archived_at is None
        assert (await store.read_thread(ReadThreadParams(thread_id=thread_id))).archived_at is None

    async def test_read_by_rollout_path(self, backend: Backend) -> None:
        store = await backend.open()
        thread_id = await new_thread(store, "by path")
        thread = await store.read_thread(ReadThreadParams(thread_id=thread_id))
        if not backend.capabilities.rollout_files:
            with pytest.raises(Unsupported):
                await store.read_thread_by_rollout_path(ReadThreadByRolloutPathParams(rollout_path="/nowhere.jsonl"))
            return
        assert thread.rollout_path is not None
        by_path = await store.read_thread_by_rollout_path(
            ReadThreadByRolloutPathParams(rollout_path=thread.rollout_path, include_history=True)
        )
        assert by_path.thread_id == thread_id
        assert by_path.preview == "by path"
        assert by_path.history is not None
        assert len(by_path.history.items) == 5

    async def test_listing_shows_threads_with_a_user_message_newest_first(self, store: ThreadStore) -> None:
        ids = []
        for n in range(4):
            ids.append(await new_thread(store, f"thread {n}", created_at=_at(n)))
        empty = create_params()
        await store.create_thread(empty)
        await store.persist_thread(empty.thread_id)
        page = await store.list_threads(ListThreadsParams())
        assert [t.thread_id for t in page.items] == ids[::-1]
        assert page.next_cursor is None
        assert [t.preview for t in page.items] == [f"thread {n}" for n in (3, 2, 1, 0)]
        ascending = await store.list_threads(ListThreadsParams(sort_direction="asc"))
        assert [t.thread_id for t in ascending.items] == ids

    async def test_updated_at_sort_follows_new_activity(self, backend: Backend) -> None:
        store = await backend.open()
        old = create_params(created_at=_at(0))
        await store.create_thread(old)
        await append(store, old.thread_id, _stamped(turn("old"), _at(1)))
        await store.shutdown_thread(old.thread_id)
        new = create_params(created_at=_at(2))
        await store.create_thread(new)
        await append(store, new.thread_id, _stamped(turn("new"), _at(3)))
        await store.shutdown_thread(new.thread_id)
        await store.resume_thread(ResumeThreadParams(thread_id=old.thread_id))
        await append(store, old.thread_id, _stamped(turn("more"), _at(4)))
        await store.shutdown_thread(old.thread_id)
        by_created = await store.list_threads(ListThreadsParams())
        by_updated = await store.list_threads(ListThreadsParams(sort_key="updated_at"))
        assert [t.preview for t in by_created.items] == ["new", "old"]
        assert [t.thread_id for t in by_updated.items] == [old.thread_id, new.thread_id]
        assert by_updated.items[0].updated_at == _at(4)  # an item's own timestamp is when it was written
        assert by_updated.items[1].updated_at == _at(3)

    async def test_pagination_walks_every_thread_once(self, store: ThreadStore) -> None:
        ids = {await new_thread(store, f"t{n}") for n in range(7)}
        for sort_key in ("created_at", "updated_at"):
            for direction in ("desc", "asc"):
                seen: list[str] = []
                cursor = None
                pages = 0
                while True:
                    page = await store.list_threads(
                        ListThreadsParams(page_size=3, cursor=cursor, sort_key=sort_key, sort_direction=direction)
                    )
                    seen.extend(t.thread_id for t in page.items)
                    pages += 1
                    cursor = page.next_cursor
                    if cursor is None:
                        break
                assert sorted(seen) == sorted(ids)
                assert len(seen) == len(set(seen))
                assert pages == 3

    async def test_invalid_listing_requests(self, store: ThreadStore) -> None:
        with pytest.raises(InvalidRequest, match="invalid cursor"):
            await store.list_threads(ListThreadsParams(cursor="not-a-cursor"))
        with pytest.raises(InvalidRequest):
            ListThreadsParams(page_size=0)
        with pytest.raises(InvalidRequest):
            ListThreadsParams(sort_key="name")  # type: ignore[arg-type]
        with pytest.raises(InvalidRequest):
            ListThreadsParams(sort_direction="sideways")  # type: ignore[arg-type]

    async def test_listing_filters(self, store: ThreadStore) -> None:
        cli = await new_thread(store, "alpha in cli", source="cli", cwd="/a", model_provider="openai")
        exec_ = await new_thread(store, "beta in exec", source="exec", cwd="/b/", model_provider="acme")
        sub = await new_thread(store, "gamma sub", source={"subagent": "review"}, cwd="/a", model_provider="acme")

        async def ids(**kwargs: object) -> set[str]:
            page = await store.list_threads(ListThreadsParams(**kwargs))  # type: ignore[arg-type]
            return {t.thread_id for t in page.items}

        assert await ids() == {cli, exec_, sub}
        assert await ids(allowed_sources=["cli"]) == {cli}
        assert await ids(allowed_sources=["exec", "subagent"]) == {exec_, sub}
        assert await ids(model_providers=["acme"]) == {exec_, sub}
        assert await ids(model_providers=[]) == {cli, exec_, sub}
        assert await ids(cwd_filters=["/a"]) == {cli, sub}
        assert await ids(cwd_filters=["/b"]) == {exec_}
        assert await ids(cwd_filters=[]) == set()
        assert await ids(search_term="BETA") == {exec_}
        assert await ids(search_term="in ") == {cli, exec_}
        assert await ids(archived=True) == set()
        await store.archive_thread(sub)
        assert await ids(archived=True) == {sub}
        assert await ids() == {cli, exec_}

    async def test_search_finds_messages_with_snippets(self, store: ThreadStore) -> None:
        first = await new_thread(store, "How do I tune the SQLite page cache?")
        params = create_params()
        await store.create_thread(params)
        await append(store, params.thread_id, turn("unrelated question", "The answer mentions sqlite and WAL mode."))
        await store.shutdown_thread(params.thread_id)
        await new_thread(store, "nothing to see here")
        page = await store.search_threads(SearchThreadsParams(search_term="sqlite"))
        assert {hit.thread.thread_id for hit in page.items} == {first, params.thread_id}
        for hit in page.items:
            assert "sqlite" in hit.snippet.lower()
        long_text = "word " * 100 + "needle" + " tail" * 100
        long_id = await new_thread(store, long_text)
        hits = (await store.search_threads(SearchThreadsParams(search_term="NEEDLE"))).items
        assert [h.thread.thread_id for h in hits] == [long_id]
        assert hits[0].snippet.startswith("... ")
        assert hits[0].snippet.endswith(" ...")
        assert "needle" in hits[0].snippet
        assert (await store.search_threads(SearchThreadsParams(search_term="zzz-absent"))).items == []
        with pytest.raises(InvalidRequest):
            SearchThreadsParams(search_term="  ")

    async def test_search_short_terms_unicode_pagination_and_archive(self, store: ThreadStore) -> None:
        ids = [await new_thread(store, f"héllo wörld {n} — ok") for n in range(5)]
        hits = (await store.search_threads(SearchThreadsParams(search_term="WÖRLD"))).items
        assert {h.thread.thread_id for h in hits} == set(ids)
        short = (await store.search_threads(SearchThreadsParams(search_term="—"))).items
        assert len(short) == 5
        seen: list[str] = []
        cursor = None
        while True:
            page = await store.search_threads(SearchThreadsParams(search_term="wörld", page_size=2, cursor=cursor))
            seen.extend(h.thread.thread_id for h in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert sorted(seen) == sorted(ids)
        await store.archive_thread(ids[0])
        active = (await store.search_threads(SearchThreadsParams(search_term="wörld"))).items
        archived = (await store.search_threads(SearchThreadsParams(search_term="wörld", archived=True))).items
        assert ids[0] not in {h.thread.thread_id for h in active}
        assert [h.thread.thread_id for h in archived] == [ids[0]]

    async def test_created_at_can_be_given(self, backend: Backend) -> None:
        from datetime import datetime

        store = await backend.open()
        when = datetime(2024, 2, 29, 12, 30, 15, 250000, tzinfo=UTC)
        thread_id = await new_thread(store, "from the past", created_at=when)
        thread = await store.read_thread(ReadThreadParams(thread_id=thread_id))
        assert thread.created_at == when
        listed = await store.list_threads(ListThreadsParams(sort_direction="asc"))
        assert listed.items[0].thread_id == thread_id
        if backend.capabilities.rollout_files:
            assert thread.rollout_path is not None
            assert "rollout-2024-02-" in thread.rollout_path

    async def test_search_matches_substrings_not_scattered_pieces(self, store: ThreadStore) -> None:
        # Every trigram of "storage" occurs in the decoy ("stor", "rage" ...), but the word does not.
        decoy = await new_thread(store, "stor tora orag rage")
        real = await new_thread(store, "the STORAGE layer")
        hits = (await store.search_threads(SearchThreadsParams(search_term="storage"))).items
        assert [h.thread.thread_id for h in hits] == [real]
        assert decoy not in {h.thread.thread_id for h in hits}
        assert hits[0].snippet == "the STORAGE layer"
