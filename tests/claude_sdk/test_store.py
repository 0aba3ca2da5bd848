"""``ThreadSessionStore`` on every backend: the SDK's own conformance harness with nothing
skipped, exact round trips, uuid idempotency (retries, overlaps, another adapter), subagent
transcripts as linked threads, and project keys as a filtered query."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk import SessionKey, SessionStore, SessionStoreEntry
from claude_agent_sdk._internal.session_store_validation import _store_implements
from claude_agent_sdk.testing import run_session_store_conformance

from threadstore import ListThreadsParams, ReadThreadParams, ThreadStore, ThreadStoreError
from threadstore.integrations.claude_agent_sdk import ThreadSessionStore
from threadstore.integrations.claude_agent_sdk._keys import TranscriptKey

from .conftest import BACKENDS, wipe
from .entries import entries, entry

KEY: SessionKey = {"project_key": "-srv-demo", "session_id": "0b7d2a52-5a43-4a29-9d7e-2f2c0d6b8f10"}

OPTIONAL = ("list_sessions", "list_session_summaries", "delete", "list_subkeys")


async def test_sdk_conformance_with_nothing_skipped(store: ThreadStore) -> None:
    adapter = ThreadSessionStore(store)
    # The SDK's own probe (the one its harness and its resume path use) finds every optional method.
    assert all(_store_implements(adapter, name) for name in OPTIONAL)
    assert all(getattr(type(adapter), name) is not getattr(SessionStore, name) for name in OPTIONAL)

    async def fresh() -> ThreadSessionStore:
        await wipe(store)
        return ThreadSessionStore(store)

    await run_session_store_conformance(fresh, skip_optional=frozenset())


def _odd_entries() -> list[SessionStoreEntry]:
    return entries([
        {"uuid": "u1", "type": "user", "message": {"role": "user", "content": "héllo ✓ 🧵"}, "z": 1, "a": 2},
        {"type": "mode", "mode": "normal"},
        {
            "zeta": None,
            "type": "assistant",
            "uuid": "u2",
            "timestamp": "2026-01-02T03:04:05.678Z",
            "message": {"content": [{"type": "text", "text": "line\nbreak \"quoted\" \\ back"}], "usage": {"n": 1.5}},
            "nested": {"b": [1, 2.0, -3e-7, True, False, {}], "a": {"y": [], "x": ""}},
            "big": 2**62 + 1,
            "control": "\u0000\u001f\u2028",
        },
    ])


async def test_entries_round_trip_exactly(store: ThreadStore) -> None:
    adapter = ThreadSessionStore(store)
    entries = _odd_entries()
    sent = json.dumps(entries)
    await adapter.append(KEY, entries[:1])
    await adapter.append(KEY, entries[1:])
    loaded = await adapter.load(KEY)
    assert loaded == entries
    # The same keys in the same order: the JSON text is the same, byte for byte.
    assert json.dumps(loaded) == sent
    # And from another adapter (nothing remembered in memory).
    assert json.dumps(await ThreadSessionStore(store).load(KEY)) == sent


async def test_uuid_entries_are_stored_once(store: ThreadStore) -> None:
    adapter = ThreadSessionStore(store)
    e = entries({"type": "user", "uuid": f"u{n}", "n": n} for n in range(4))
    untracked = entry({"type": "last-prompt", "lastPrompt": "p"})
    await adapter.append(KEY, [e[0], e[1], untracked])
    await adapter.append(KEY, [e[0], e[1], untracked])  # the same batch sent again: a retry
    await adapter.append(KEY, [e[1], e[2]])  # overlapping the last one
    await adapter.append(KEY, [e[3], e[3]])  # a uuid twice in one batch
    await ThreadSessionStore(store).append(KEY, [e[2], e[0]])  # another adapter, nothing new
    assert await adapter.load(KEY) == [e[0], e[1], untracked, e[2], e[3]]
    # Entries without a uuid are appended every time they come (they carry no identity).
    await adapter.append(KEY, [untracked])
    await adapter.append(KEY, [untracked])
    assert await adapter.load(KEY) == [e[0], e[1], untracked, e[2], e[3], untracked, untracked]


async def test_a_retry_after_a_failure_stores_nothing_twice(store: ThreadStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch lands, then the append fails (the sidecar update): the SDK retries it whole."""
    adapter = ThreadSessionStore(store)
    await adapter.append(KEY, entries([{"type": "user", "uuid": "a", "message": {"role": "user", "content": "first"}}]))
    batch = entries([{"type": "assistant", "uuid": "b"}, {"type": "cost-state", "total": 1}])
    original = store.update_thread_metadata
    calls = 0

    async def failing_once(params: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ThreadStoreError("injected failure after the items were stored")
        return await original(params)

    monkeypatch.setattr(store, "update_thread_metadata", failing_once)
    with pytest.raises(ThreadStoreError):
        await adapter.append(KEY, batch)
    await adapter.append(KEY, batch)
    loaded = await adapter.load(KEY)
    assert loaded is not None
    assert [e["type"] for e in loaded] == ["user", "assistant", "cost-state"]
    # The sidecar the failure left stale was folded again from the transcript.
    summaries = await adapter.list_session_summaries(KEY["project_key"])
    assert summaries[0]["data"]["first_prompt"] == "first"
    assert summaries[0]["mtime"] == (await adapter.list_sessions(KEY["project_key"]))[0]["mtime"]


async def test_subagent_transcripts_are_threads_linked_to_their_session(store: ThreadStore) -> None:
    adapter = ThreadSessionStore(store)
    sub: SessionKey = {**KEY, "subpath": "subagents/agent-a1"}
    await adapter.append(KEY, entries([{"type": "user", "uuid": "m", "message": {"role": "user", "content": "main task"}}]))
    await adapter.append(sub, entries([{"type": "user", "uuid": "s", "isSidechain": True, "message": {"content": "sub"}}]))
    main_id, sub_id = TranscriptKey.of(KEY).thread_id, TranscriptKey.of(sub).thread_id
    assert main_id != sub_id
    child = await store.read_thread(ReadThreadParams(sub_id))
    assert child.parent_thread_id == main_id
    assert child.labels["claude.subpath"] == "subagents/agent-a1"
    assert child.labels["claude.session"] == KEY["session_id"]
    assert await adapter.list_subkeys(KEY) == ["subagents/agent-a1"]
    assert [s["session_id"] for s in await adapter.list_sessions(KEY["project_key"])] == [KEY["session_id"]]
    # The subagent's entries never reach the session's summary.
    [summary] = await adapter.list_session_summaries(KEY["project_key"])
    assert summary["data"]["first_prompt"] == "main task"


async def test_project_listing_is_a_label_query(store: ThreadStore, monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = ThreadSessionStore(store)
    for n in range(3):
        await adapter.append({"project_key": "-srv-other", "session_id": f"o{n}"}, [entry({"type": "x", "n": n})])
    await adapter.append({"project_key": "-srv-mine", "session_id": "m0"}, [{"type": "x"}])
    seen: list[ListThreadsParams] = []
    original = store.list_threads

    async def spy(params: ListThreadsParams) -> Any:
        seen.append(params)
        return await original(params)

    monkeypatch.setattr(store, "list_threads", spy)
    assert [s["session_id"] for s in await adapter.list_sessions("-srv-mine")] == ["m0"]
    assert len(await adapter.list_session_summaries("-srv-other")) == 3
    assert seen
    assert all(p.labels and p.labels.get("claude.project") in ("-srv-mine", "-srv-other") for p in seen)
    # The project key is on the thread, for anyone to filter by.
    page = await original(ListThreadsParams(labels={"claude.project": "-srv-other"}))
    assert sorted(t.labels["claude.session"] for t in page.items) == ["o0", "o1", "o2"]


@pytest.mark.parametrize("backend_name", ["local", "postgres", "remote-postgres"])
async def test_writers_on_two_machines_take_turns(backend_name: str, tmp_path: Path) -> None:
    """Two adapters over two stores of the same data (two processes or machines) append to one
    session at once: every batch is stored whole, none is refused, none is lost."""
    backend = BACKENDS[backend_name](tmp_path)
    try:
        a, b = ThreadSessionStore(await backend.open()), ThreadSessionStore(await backend.open())

        async def write(adapter: ThreadSessionStore, who: str) -> None:
            for n in range(8):
                await adapter.append(KEY, entries({"type": "user", "uuid": f"{who}{n}.{i}", "n": i} for i in range(3)))

        await asyncio.gather(write(a, "a"), write(b, "b"))
        loaded = await a.load(KEY)
        assert loaded is not None
        assert len(loaded) == 48
        batches = [tuple(e["uuid"].split(".")[0] for e in loaded[i : i + 3]) for i in range(0, 48, 3)]
        assert all(len(set(batch)) == 1 for batch in batches)  # each batch whole, never interleaved
        [summary] = await b.list_session_summaries(KEY["project_key"])
        assert summary["mtime"] == (await b.list_sessions(KEY["project_key"]))[0]["mtime"]
    finally:
        await backend.aclose()
