"""LocalThreadStore on real Codex homes reports what Codex itself reports (``expected.json``)."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import CODEX_HOMES
from tests.fixtures import ROLLOUTS as ROLLOUT_DIR
from threadstore import (
    ListThreadsParams,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    SearchThreadsParams,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._rollout.messages import CONTEXTUAL_PREFIXES, message_text

HOMES = sorted(p.name for p in CODEX_HOMES.iterdir() if p.is_dir())


@pytest.fixture(params=HOMES)
async def home(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[LocalThreadStore, dict[str, Any]]]:
    target = tmp_path / "home"
    shutil.copytree(CODEX_HOMES / request.param, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    target.chmod(0o755)
    expected = json.loads((target / "expected.json").read_text())
    store = LocalThreadStore(target, default_model_provider="openai")
    yield store, expected
    await store.close()


def _turns_from_history(history: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(user text, agent text) per turn, with rollback markers applied."""
    turns: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for item in history:
        payload = item.get("payload") or {}
        kind, inner = item.get("type"), payload.get("type")
        if kind == "event_msg" and inner == "task_started":
            current = {}
            turns.append(current)
        elif kind == "event_msg" and inner == "thread_rolled_back":
            del turns[len(turns) - payload["num_turns"] :]
            current = None
        elif current is None:
            continue
        elif kind == "event_msg" and inner == "user_message":
            current.setdefault("user", payload["message"])
        elif kind == "event_msg" and inner == "agent_message":
            current["agent"] = payload["message"]
        elif kind == "event_msg" and inner == "item_completed":
            turn_item = payload.get("item") or {}
            texts = " ".join(p.get("text", "") for p in turn_item.get("content") or [])
            if turn_item.get("type") == "UserMessage":
                current.setdefault("user", texts)
            elif turn_item.get("type") == "AgentMessage":
                current["agent"] = texts
        elif kind == "response_item" and inner == "message":
            text = message_text(payload)
            if payload.get("role") == "user" and not text.startswith(CONTEXTUAL_PREFIXES):
                current.setdefault("user", text)
            elif payload.get("role") == "assistant":
                current["agent"] = text
    return [(t.get("user", ""), t.get("agent", "")) for t in turns]


def _expected_turns(read: Mapping[str, Any]) -> list[tuple[str, str]]:
    result = []
    for turn in read["thread"]["turns"]:
        user = next(i for i in turn["items"] if i["type"] == "userMessage")
        agent = next(i for i in turn["items"] if i["type"] == "agentMessage")
        result.append((" ".join(c["text"] for c in user["content"]), agent["text"]))
    return result


async def test_listing_matches_codex(home: tuple[LocalThreadStore, dict[str, Any]]) -> None:
    store, expected = home
    for archived, key in ((False, "active"), (True, "archived")):
        page = await store.list_threads(ListThreadsParams(archived=archived))
        want = expected["listing"][key]
        assert [t.thread_id for t in page.items] == [t["id"] for t in want]
        assert [t.preview for t in page.items] == [t["preview"] for t in want]
        assert [t.name for t in page.items] == [t["name"] for t in want]
        for got, exp in zip(page.items, want, strict=True):
            assert int(got.created_at.timestamp()) == exp["createdAt"]
            assert got.model_provider == exp["modelProvider"]
            assert got.cwd == exp["cwd"]
            assert got.cli_version == exp["cliVersion"]
            assert got.source == exp["source"]
            assert (got.archived_at is not None) == archived
            assert got.rollout_path is not None
            assert Path(got.rollout_path).relative_to(store.home).as_posix() == exp["path"]
            git = exp["gitInfo"]
            assert got.git_info is not None
            assert (got.git_info.commit_hash, got.git_info.branch, got.git_info.repository_url) == (
                git["sha"],
                git["branch"],
                git["originUrl"],
            )


async def test_reads_match_codex(home: tuple[LocalThreadStore, dict[str, Any]]) -> None:
    store, expected = home
    for letter, read in expected["reads"].items():
        want = read["thread"]
        thread = await store.read_thread(
            ReadThreadParams(thread_id=want["id"], include_archived=True, include_history=True)
        )
        assert thread.preview == want["preview"], letter
        assert thread.name == want["name"], letter
        assert thread.forked_from_id == want["forkedFromId"], letter
        assert (thread.archived_at is not None) == want["path"].startswith("archived_sessions"), letter
        assert int(thread.created_at.timestamp()) == want["createdAt"], letter
        assert thread.updated_at >= thread.created_at
        assert thread.history is not None
        assert _turns_from_history(thread.history.items) == _expected_turns(read), letter


async def test_search_finds_the_right_threads(home: tuple[LocalThreadStore, dict[str, Any]]) -> None:
    store, expected = home
    ids = expected["ids"]

    async def found(term: str, archived: bool = False) -> set[str]:
        page = await store.search_threads(SearchThreadsParams(search_term=term, archived=archived))
        return {hit.thread.thread_id for hit in page.items}

    assert await found("SQLITE index") == {ids["A"], ids["C"]}
    assert await found("caching") == {ids["B"]}
    assert await found("continue on the fork") == {ids["C"]}
    assert await found("wörld") == {ids["E"]}
    assert await found("conversation to archive") == set()
    assert await found("conversation to archive", archived=True) == {ids["D"]}
    page = await store.search_threads(SearchThreadsParams(search_term="emoji"))
    assert "😀" in page.items[0].snippet


async def test_rename_archive_and_delete_on_a_codex_home(home: tuple[LocalThreadStore, dict[str, Any]]) -> None:
    from threadstore import ThreadMetadataPatch, UpdateThreadMetadataParams

    store, expected = home
    ids = expected["ids"]
    renamed = await store.update_thread_metadata(
        UpdateThreadMetadataParams(thread_id=ids["B"], patch=ThreadMetadataPatch(name="Caching ideas"))
    )
    assert renamed.name == "Caching ideas"
    index_lines = (store.home / "session_index.jsonl").read_text().splitlines()
    assert json.loads(index_lines[-1])["thread_name"] == "Caching ideas"
    await store.archive_thread(ids["E"])
    assert (store.home / "archived_sessions").joinpath(Path(expected["listing"]["active"][0]["path"]).name).exists()
    restored = await store.unarchive_thread(ids["D"])
    assert restored.archived_at is None
    await store.delete_thread(ids["A"])
    active = [t.thread_id for t in (await store.list_threads(ListThreadsParams())).items]
    assert ids["A"] not in active
    assert ids["D"] in active
    assert ids["E"] not in active


ROLLOUTS = sorted(ROLLOUT_DIR.glob("*.jsonl"))


@pytest.mark.parametrize("rollout", ROLLOUTS, ids=lambda p: p.name[:40])
async def test_real_rollouts_read_item_for_item(rollout: Path, tmp_path: Path) -> None:
    lines = [json.loads(line) for line in rollout.read_text().splitlines() if line.strip()]
    for line in lines:
        line.pop("timestamp", None)
    store = LocalThreadStore(tmp_path / "home")
    try:
        thread = await store.read_thread_by_rollout_path(
            ReadThreadByRolloutPathParams(rollout_path=str(rollout), include_history=True)
        )
        assert thread.history is not None
        assert thread.history.items == lines
        assert thread.thread_id == lines[0]["payload"]["id"]
        assert thread.cwd == lines[0]["payload"]["cwd"]
    finally:
        await store.close()
