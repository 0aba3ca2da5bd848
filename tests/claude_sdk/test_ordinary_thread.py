"""A Claude Code session kept by ``ThreadSessionStore`` is an ordinary thread: its title, first
prompt, cwd and times are the thread's metadata on every backend, search finds its messages, the
transcript reads it, and ``threadstore list``/``search``/``show``/``export`` and the web page show
it."""

from __future__ import annotations

import asyncio
import json
import warnings
from pathlib import Path
from typing import Any

from claude_agent_sdk import SessionKey, SessionStoreEntry

from threadstore import LoadThreadHistoryParams, ReadThreadParams, SearchThreadsParams, ThreadStore
from threadstore._backends.local import LocalThreadStore
from threadstore._view.transcript import transcript
from threadstore.integrations.claude_agent_sdk import ThreadSessionStore
from threadstore.integrations.claude_agent_sdk._keys import TranscriptKey

from ..cli.helpers import invoke
from .entries import entries, entry

SID = "3f0e9c61-2c55-4c8e-8f0c-3f7b1d2a9e41"
KEY: SessionKey = {"project_key": "-srv-weather", "session_id": SID}
CWD = "/srv/weather"


def _entry(kind: str, n: int, **fields: Any) -> dict[str, Any]:
    return {
        "parentUuid": f"e{n - 1:03d}" if n else None,
        "isSidechain": False,
        "userType": "external",
        "cwd": CWD,
        "sessionId": SID,
        "version": "2.1.337",
        "gitBranch": "forecast",
        "type": kind,
        **fields,
        "uuid": f"e{n:03d}",
        "timestamp": f"2026-03-01T10:00:0{n}.000Z",
    }


def session() -> list[SessionStoreEntry]:
    """One Claude Code turn with a tool call, then a title, in the CLI's shapes."""
    model = "claude-sonnet-4-5"
    return entries([
        {"type": "queue-operation", "operation": "enqueue", "sessionId": SID, "content": "will it rain?"},
        _entry("user", 0, message={"role": "user", "content": "Will it rain in Lisbon tomorrow?"}),
        _entry("user", 1, isMeta=True, message={"role": "user", "content": "<system-reminder>x</system-reminder>"}),
        _entry("assistant", 2, message={"id": "msg_1", "role": "assistant", "model": model, "content": [
            {"type": "thinking", "thinking": "Check the forecast tool.", "signature": "s"},
            {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "forecast --city Lisbon"}},
        ]}),
        _entry("user", 3, message={"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "rain 80%"},
        ]}),
        _entry("assistant", 4, message={"id": "msg_2", "role": "assistant", "model": model, "content": [
            {"type": "text", "text": "Probably: an umbrella-worthy 80% chance of rain."},
        ]}),
        {"type": "last-prompt", "lastPrompt": "Will it rain in Lisbon tomorrow?", "sessionId": SID},
        {"type": "custom-title", "customTitle": "Lisbon weather", "sessionId": SID, "uuid": "t1"},
    ])


async def test_session_metadata_search_and_transcript(store: ThreadStore) -> None:
    adapter = ThreadSessionStore(store)
    entries = session()
    await adapter.append(KEY, entries[:4])
    await adapter.append(KEY, entries[4:])
    thread_id = TranscriptKey.of(KEY).thread_id
    thread = await store.read_thread(ReadThreadParams(thread_id))
    assert thread.name == "Lisbon weather"
    assert thread.preview == thread.first_user_message == "Will it rain in Lisbon tomorrow?"
    assert thread.cwd == CWD
    assert thread.model == "claude-sonnet-4-5"
    assert thread.model_provider == "anthropic"
    assert thread.cli_version == "2.1.337"
    assert thread.git_info is not None
    assert thread.git_info.branch == "forecast"
    assert thread.source == {"custom": "claude-code"}
    assert thread.created_at.isoformat() == "2026-03-01T10:00:00+00:00"  # the first entry's time
    assert thread.created_at <= thread.updated_at
    assert thread.labels["claude.project"] == KEY["project_key"]
    assert thread.labels["claude.session"] == SID

    for term, where in (("umbrella-worthy", "answer"), ("LISBON TOMORROW", "prompt")):
        page = await store.search_threads(SearchThreadsParams(term))
        assert [hit.thread.thread_id for hit in page.items] == [thread_id], where
    assert not (await store.search_threads(SearchThreadsParams("system-reminder"))).items

    history = await store.load_history(LoadThreadHistoryParams(thread_id))
    steps = [(e.kind, e.text) for e in transcript(history.items)]
    assert steps == [
        ("user", "Will it rain in Lisbon tomorrow?"),
        ("reasoning", "Check the forecast tool."),
        ("tool", "forecast --city Lisbon"),
        ("agent", "Probably: an umbrella-worthy 80% chance of rain."),
        ("note", "renamed to “Lisbon weather”"),
    ]
    tool = transcript(history.items)[2]
    assert (tool.name, tool.output, tool.status) == ("Bash", "rain 80%", "ok")


def _local_session(home: Path) -> str:
    async def main() -> None:
        async with LocalThreadStore(home) as store:
            await ThreadSessionStore(store).append(KEY, session())

    asyncio.run(main())
    return TranscriptKey.of(KEY).thread_id


def test_command_line_shows_the_session(tmp_path: Path) -> None:
    thread_id = _local_session(tmp_path / "home")
    url = f"local:{tmp_path / 'home'}"
    code, out, _ = invoke(url, "list", "--json")
    assert code == 0
    [listed] = json.loads(out)["threads"]
    assert (listed["thread_id"], listed["name"], listed["preview"], listed["cwd"]) == (
        thread_id, "Lisbon weather", "Will it rain in Lisbon tomorrow?", CWD
    )
    code, out, _ = invoke(url, "list", "--label", f"claude.session={SID}")
    assert code == 0
    assert "Lisbon weather" in out
    code, out, _ = invoke(url, "search", "umbrella")
    assert code == 0
    assert "Lisbon weather" in out
    code, out, _ = invoke(url, "show", thread_id)
    assert code == 0
    for shown in ("Lisbon weather", CWD, "Will it rain in Lisbon tomorrow?", "80% chance of rain"):
        assert shown in out
    code, out, _ = invoke(url, "export", thread_id)
    assert code == 0
    exported = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [line["payload"] for line in exported if line["type"] == "claude_entry"] == session()


def test_web_page_shows_the_session(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from starlette.testclient import TestClient
    from threadstore._ui import create_app

    home = tmp_path / "home"
    thread_id = _local_session(home)
    with TestClient(create_app(lambda: LocalThreadStore(home)), base_url="http://127.0.0.1:8765") as client:
        listing = client.get("/").text
        assert "Lisbon weather" in listing
        assert thread_id in listing
        page = client.get(f"/t/{thread_id}").text
        for shown in ("Lisbon weather", "Will it rain in Lisbon tomorrow?", "80% chance of rain", "forecast --city"):
            assert shown in page


async def test_a_copied_session_serves_the_sdk_from_the_target(tmp_path: Path) -> None:
    """``threadstore copy`` (local -> memory): the copy loads, lists and summarizes the same."""
    from threadstore import InMemoryThreadStore
    from threadstore.transfer import copy_threads

    async with LocalThreadStore(tmp_path / "home") as source, InMemoryThreadStore() as target:
        mirrored = ThreadSessionStore(source)
        await mirrored.append(KEY, session()[:4])
        await mirrored.append(KEY, session()[4:])
        await mirrored.append({**KEY, "subpath": "subagents/agent-1"}, [entry({"type": "user", "uuid": "s1"})])
        report = await copy_threads(source, target)
        assert [o.status for o in report.outcomes] == ["copied", "copied"]
        copied = ThreadSessionStore(target)
        assert await copied.load(KEY) == session()
        assert await copied.list_sessions(KEY["project_key"]) == await mirrored.list_sessions(KEY["project_key"])
        assert await copied.list_session_summaries(KEY["project_key"]) == await mirrored.list_session_summaries(
            KEY["project_key"]
        )
        assert await copied.list_subkeys(KEY) == ["subagents/agent-1"]
        # The copy goes on where the original stopped (its uuids are known there too).
        more = entry({"type": "user", "uuid": "e999", "message": {"content": "more"}})
        await copied.append(KEY, [*session()[-2:], more])
        loaded = await copied.load(KEY)
        assert loaded is not None
        assert loaded[-1]["uuid"] == "e999"
        assert len(loaded) == len(session()) + 2  # the uuid-less last-prompt, and the new prompt
