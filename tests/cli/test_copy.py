"""``threadstore copy``: exact round trips between backends, skips, failures, reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    InMemoryThreadStore,
    ListThreadsParams,
    LoadThreadHistoryParams,
    ReadThreadParams,
    ThreadManager,
    ThreadMetadataPatch,
    ThreadStore,
    items,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._contract.patch import UpdateThreadMetadataParams
from threadstore._contract.types import GitInfo
from threadstore.transfer import copy_threads

from ..remote.server_process import serve_process
from .helpers import chat, invoke, with_store, without_meta_timestamp


async def seed(store: ThreadStore, cwd: str) -> dict[str, str]:
    """Threads of every shape: plain, renamed, archived, forked, and one with the rarer create
    parameters and item kinds (an exec_command_end, a compaction, an unknown kind)."""
    ids = {
        "plain": await chat(store, ["one", "two"], cwd),
        "renamed": await chat(store, ["name me"], cwd),
        "archived": await chat(store, ["old stuff"], cwd),
    }
    manager = ThreadManager(store)
    fork = await manager.fork_thread(ids["plain"], nth_user_message=1)
    ids["fork"] = fork.thread_id
    assert (await manager.shutdown_all(timeout=10)).all_stopped

    rich = new_thread_id()
    await store.create_thread(
        CreateThreadParams(
            thread_id=rich,
            cwd=cwd,
            model_provider="openai",
            source={"subagent": "review"},
            base_instructions="be brief",
            dynamic_tools=[{"name": "lookup", "description": "d", "inputSchema": {"type": "object"}}],
            memory_mode="disabled",
            originator="codex_cli_rs",
            cli_version="0.125.0",
            git_info=GitInfo(commit_hash="abc", branch="main", repository_url="https://example.invalid/r.git"),
        )
    )
    await store.append_items(
        AppendThreadItemsParams(
            rich,
            [
                items.user_message("rich"),
                items.event("exec_command_end", call_id="c1", exit_code=0, aggregated_output="ok"),
                items.compacted("summary", [{"type": "message", "role": "user", "content": []}]),
                {"type": "future_kind", "payload": {"x": 1}, "extra": True},
                items.agent_message("done"),
            ],
        )
    )
    await store.shutdown_thread(rich)
    ids["rich"] = rich

    await store.update_thread_metadata(
        UpdateThreadMetadataParams(ids["renamed"], ThreadMetadataPatch(name="Renamed thread"))
    )
    await store.update_thread_metadata(
        UpdateThreadMetadataParams(ids["plain"], ThreadMetadataPatch(memory_mode="disabled"))
    )
    await store.archive_thread(ids["archived"])
    return ids


async def history(store: ThreadStore, thread_id: str) -> list[dict[str, Any]]:
    loaded = await store.load_history(LoadThreadHistoryParams(thread_id, include_archived=True))
    return without_meta_timestamp(loaded.items)


async def assert_same_threads(a: ThreadStore, b: ThreadStore, ids: dict[str, str]) -> None:
    for thread_id in ids.values():
        assert await history(b, thread_id) == await history(a, thread_id)
        x = await a.read_thread(ReadThreadParams(thread_id, include_archived=True))
        y = await b.read_thread(ReadThreadParams(thread_id, include_archived=True))
        for field in ("name", "forked_from_id", "source", "memory_mode", "git_info", "cwd", "model_provider"):
            assert getattr(y, field) == getattr(x, field), field
        assert y.archived == x.archived
        assert y.cli_version == x.cli_version


async def test_local_memory_local_round_trip_is_exact(tmp_path: Path) -> None:
    cwd = str(tmp_path / "work")
    async with (
        LocalThreadStore(home=tmp_path / "a") as source,
        LocalThreadStore(home=tmp_path / "b") as target,
    ):
        ids = await seed(source, cwd)
        middle = InMemoryThreadStore()
        seen: list[int] = []
        first = await copy_threads(source, middle, on_total=seen.append)
        assert seen == [len(ids)]
        assert [o.status for o in first.outcomes] == ["copied"] * len(ids)
        assert all(not o.notes for o in first.outcomes)
        await assert_same_threads(source, middle, ids)

        second = await copy_threads(middle, target)
        assert second.ok
        assert [o.status for o in second.outcomes] == ["copied"] * len(ids)
        assert all(not o.notes for o in second.outcomes)
        await assert_same_threads(source, target, ids)
        renamed = await target.read_thread(ReadThreadParams(ids["renamed"]))
        assert renamed.name == "Renamed thread"
        archived = await target.read_thread(ReadThreadParams(ids["archived"], include_archived=True))
        assert archived.archived_at is not None
        # Oldest first: the copies list in the same order as the originals.
        params = ListThreadsParams(sort_direction="asc")
        assert [t.thread_id for t in (await target.list_threads(params)).items] == [
            t.thread_id for t in (await source.list_threads(params)).items
        ]

        again = await copy_threads(source, target)
        assert [o.status for o in again.outcomes] == ["skipped"] * len(ids)
        assert {o.reason for o in again.outcomes} == {"already exists in the target"}


async def test_name_kept_outside_the_history_is_reapplied(tmp_path: Path) -> None:
    source = InMemoryThreadStore()  # keeps a rename as metadata, not as an item
    tid = await chat(source, ["hello"])
    await source.update_thread_metadata(UpdateThreadMetadataParams(tid, ThreadMetadataPatch(name="kept")))
    async with LocalThreadStore(home=tmp_path / "b") as target:
        report = await copy_threads(source, target)
        assert report.ok
        copied = await target.read_thread(ReadThreadParams(tid))
        assert copied.name == "kept"


def write_codex_rollout(home: Path, thread_id: str) -> bytes:
    """A rollout as another program wrote it: a session_meta field we never write, an event type
    our policy does not know and an exec_command_end with its full stdout. Returns its bytes."""
    meta = {
        "id": thread_id,
        "timestamp": "2026-01-02T03:04:05.000Z",
        "cwd": "/w",
        "originator": "codex_cli_rs",
        "cli_version": "0.125.0",
        "source": "cli",
        "model_provider": "openai",
        "instructions": None,
    }
    lines = [
        {"type": "session_meta", "payload": meta},
        items.user_message("from codex"),
        items.event("future_event", detail=1),
        items.event("exec_command_end", call_id="c", exit_code=0, stdout="lots", aggregated_output="lots"),
        items.agent_message("answer"),
    ]
    folder = home / "sessions" / "2026" / "01" / "02"
    folder.mkdir(parents=True)
    path = folder / f"rollout-2026-01-02T03-04-05-{thread_id}.jsonl"
    data = "".join(
        json.dumps({"timestamp": f"2026-01-02T03:04:0{i}.000Z", **line}, separators=(",", ":")) + "\n"
        for i, line in enumerate(lines)
    )
    path.write_text(data)
    return data.encode()


def test_copies_keep_what_our_own_policy_would_not(tmp_path: Path) -> None:
    tid = new_thread_id()
    original = write_codex_rollout(tmp_path / "a", tid)
    source, target = f"local:{tmp_path / 'a'}", f"local:{tmp_path / 'b'}"
    code, out, err = invoke(source, "copy", "--to", target, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["copied"], report["skipped"], report["failed"]) == (1, 0, 0)
    (outcome,) = report["threads"]
    assert (outcome["thread_id"], outcome["lines"], outcome["notes"]) == (tid, 5, [])
    (copied,) = (tmp_path / "b").rglob(f"rollout-*{tid}.jsonl")
    assert copied.read_bytes() == original

    tid2 = new_thread_id()
    write_codex_rollout(tmp_path / "c", tid2)
    code, out, err = invoke(f"local:{tmp_path / 'c'}", "copy", "--to", target)
    assert code == 0, err
    assert "copied 1, skipped 0, failed 0" in out


@pytest.fixture
def seeded_local(tmp_path: Path) -> tuple[str, dict[str, str]]:
    url = f"local:{tmp_path / 'home'}"
    return url, with_store(url, lambda s: seed(s, str(tmp_path / "work")))


def test_cli_copy_local_to_grpc(seeded_local: tuple[str, dict[str, str]]) -> None:
    source, ids = seeded_local
    with serve_process() as address:
        target = f"grpc://{address}"
        code, out, err = invoke(source, "copy", "--to", target, "--no-archived", "--json")
        assert code == 0, err
        report = json.loads(out)
        assert (report["copied"], report["skipped"], report["failed"]) == (len(ids) - 1, 0, 0)
        assert ids["archived"] not in {t["thread_id"] for t in report["threads"]}

        code, out, err = invoke(source, "copy", "--to", target, "--thread", ids["archived"], "--no-archived")
        assert code == 0, err
        assert "skipped " + ids["archived"] + ": archived (--no-archived)" in out

        code, out, err = invoke(source, "copy", "--to", target, "--thread", ids["archived"])
        assert code == 0, err
        assert "copied 1, skipped 0, failed 0" in out
        code, out, _ = invoke(target, "list", "--json", "--archived")
        assert [t["thread_id"] for t in json.loads(out)["threads"]] == [ids["archived"]]

        async def both(store: ThreadStore) -> None:
            async with LocalThreadStore(home=source.removeprefix("local:")) as local:
                await assert_same_threads(local, store, ids)

        with_store(target, both)

        code, out, err = invoke(source, "copy", "--to", target)
        assert code == 0, err
        assert f"copied 0, skipped {len(ids)}, failed 0" in out
        assert "already exists in the target" in out


def test_cli_copy_reports_failures_and_exits_nonzero(seeded_local: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    source, ids = seeded_local
    target = f"local:{tmp_path / 'other'}"
    missing = "01a211bf-84ac-7211-aa07-ea80033ee564"
    code, out, err = invoke(source, "copy", "--to", target, "--thread", ids["plain"], "--thread", missing, "--json")
    assert code == 1
    report = json.loads(out)
    assert (report["copied"], report["failed"]) == (1, 1)
    failed = report["threads"][1]
    assert failed["thread_id"] == missing
    assert "not found" in failed["reason"]
    assert err == "error: 1 thread(s) could not be copied\n"

    code, _, err = invoke(source, "copy", "--to", "nosuch:x")
    assert code == 1
    assert err.startswith("error: ")
    assert err.count("\n") == 1
