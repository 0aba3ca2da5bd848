"""What real Codex builds make of an Agents SDK session kept in a Codex home (offline: the fake
Responses server of ``tests/peers``). The README's account of it rests on this test."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from threadstore import LocalThreadStore
from threadstore.integrations.openai_agents import ThreadSession

from ..peers.codex_cli import CodexCli
from ..peers.codex_home import make_git_repo, write_codex_home
from ..peers.codex_install import APP_SERVER_VERSION, EXEC_VERSION, require_codex
from ..peers.fake_responses import FakeResponsesServer

pytestmark = pytest.mark.codex


@pytest.fixture
def fake_server() -> Iterator[FakeResponsesServer]:
    with FakeResponsesServer() as server:
        yield server


async def _write_session(home: Path, cwd: Path, session_id: str, source: str | None = None) -> ThreadSession:
    async with LocalThreadStore(home) as store:
        session = ThreadSession(session_id, store, cwd=str(cwd), model_provider="fake", source=source)
        await session.add_items([{"role": "user", "content": "easy question"}])  # an "easy" message
        await session.add_items(
            [
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "easy answer"}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "typed question"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "typed answer"}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "popped question"}]},
            ]
        )
        await session.pop_item()
        return session


async def test_codex_lists_reads_and_resumes_an_agents_session(
    fake_server: FakeResponsesServer, tmp_path: Path
) -> None:
    home = tmp_path / "codex-home"
    write_codex_home(home, base_url=fake_server.base_url)
    repo = make_git_repo(tmp_path / "repo")
    session = await _write_session(home, repo, "codex-peer")  # source {"custom": "openai_agents"}
    listed_too = await _write_session(home, repo, "listed", source="exec")

    # app-server 0.128 lists only the source kinds it knows (cli, vscode, exec, appServer, subAgent*,
    # unknown): a custom source is never listed; a session whose source is one of them is, with
    # its preview, and reads as turns made of the message events.
    cli = CodexCli(require_codex(APP_SERVER_VERSION), home=home, cwd=repo)
    kinds = ["cli", "vscode", "exec", "appServer", "subAgent", "unknown"]
    listed, reads = await asyncio.to_thread(cli.list_and_read_threads, list_params={"sourceKinds": kinds})
    by_id = {t["id"]: t for t in listed["data"]}
    assert session.thread_id not in by_id, listed
    assert listed_too.thread_id in by_id, listed
    assert by_id[listed_too.thread_id]["preview"] == "easy question"
    read = next(r["thread"] for r in reads if r["thread"]["id"] == listed_too.thread_id)
    shown = [[(i["type"], i.get("text")) for i in turn["items"]] for turn in read["turns"]]
    # Codex skips the pop marker it does not know: the popped question still shows there.
    assert [kind for turn in shown for kind, _ in turn] == [
        "userMessage",
        "agentMessage",
        "userMessage",
        "agentMessage",
        "userMessage",
    ], shown

    # exec resume 0.125: the model sees the Codex-shaped items; the easy message line is skipped.
    run = await asyncio.to_thread(CodexCli(require_codex(EXEC_VERSION), home=home, cwd=repo).exec_resume,
                                  session.thread_id, "one more")
    assert run.ok, run.describe()
    assert run.agent_messages == ["echo: one more"], run.describe()
    body: Any = fake_server.response_requests()[-1].json_body
    sent = json.dumps(body["input"])
    assert "typed question" in sent
    assert "typed answer" in sent
    assert "easy answer" in sent
    assert "easy question" not in sent
    assert "popped question" in sent

    # The session reads on after Codex wrote to its thread: Codex's own items are items too.
    async with LocalThreadStore(home) as store:
        items = await ThreadSession("codex-peer", store).get_items()
    texts = json.dumps(items)
    assert "typed answer" in texts
    assert "echo: one more" in texts
    assert "popped question" not in texts
