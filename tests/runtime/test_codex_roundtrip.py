"""Threads move both ways between this runtime and a real Codex CLI (0.125.0), offline.

The model is the fake Responses server of ``tests/peers``; both Codex and our
``OpenAIResponsesModel`` talk to it. The store is a ``LocalThreadStore`` whose home is the Codex
home.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from threadstore import items
from threadstore._backends.local import LocalThreadStore
from threadstore._contract.types import ReadThreadParams
from threadstore._runtime import OpenAIResponsesModel, ThreadConfig, ThreadManager

from ..peers.codex_cli import CodexCli
from ..peers.codex_home import make_git_repo, write_codex_home
from ..peers.codex_install import EXEC_VERSION, CodexInstall, require_codex
from ..peers.fake_responses import FakeResponsesServer
from .support import run_turn

pytestmark = pytest.mark.codex


@pytest.fixture(scope="module")
def codex_install() -> CodexInstall:
    return require_codex(EXEC_VERSION)


@pytest.fixture
def fake_server() -> Iterator[FakeResponsesServer]:
    with FakeResponsesServer() as server:
        yield server


def _model(server: FakeResponsesServer) -> OpenAIResponsesModel:
    return OpenAIResponsesModel(
        base_url=server.base_url, api_key="sk-threadstore-fake", model="gpt-fake", provider_id="fake", max_retries=0
    )


async def _user_texts(home: Path, thread_id: str) -> list[str]:
    store = LocalThreadStore(home=home)
    try:
        thread = await store.read_thread(ReadThreadParams(thread_id, include_history=True))
    finally:
        await store.close()
    assert thread.history is not None
    return [i["payload"]["message"] for i in thread.history.items if items.is_event(i, "user_message")]


def _input_text(server: FakeResponsesServer) -> str:
    body: Any = server.response_requests()[-1].json_body
    return json.dumps(body["input"])


async def test_codex_continues_a_thread_written_by_threadstore(
    codex_install: CodexInstall, fake_server: FakeResponsesServer, tmp_path: Path
) -> None:
    home = tmp_path / "codex-home"
    write_codex_home(home, base_url=fake_server.base_url)
    repo = make_git_repo(tmp_path / "repo")

    store = LocalThreadStore(home=home)
    model = _model(fake_server)
    try:
        manager = ThreadManager(store, model=model)
        thread = await manager.start_thread(ThreadConfig(cwd=str(repo), model="gpt-fake", model_provider="fake"))
        first = await run_turn(thread, "first")
        assert first[-1].msg["last_agent_message"] == "echo: first"
        await run_turn(thread, "second")
        report = await manager.shutdown_all(timeout=10)
        assert report.all_stopped
    finally:
        await model.aclose()
        await store.close()

    cli = CodexCli(codex_install, home=home, cwd=repo)
    run = await asyncio.to_thread(cli.exec_resume, thread.thread_id, "third")
    assert run.ok, run.describe()
    assert run.thread_id == thread.thread_id, run.describe()
    assert run.agent_messages == ["echo: third"], run.describe()
    assert "echo: second" in _input_text(fake_server)  # Codex saw our turns

    assert await _user_texts(home, thread.thread_id) == ["first", "second", "third"]


async def test_threadstore_continues_a_thread_written_by_codex(
    codex_install: CodexInstall, fake_server: FakeResponsesServer, tmp_path: Path
) -> None:
    home = tmp_path / "codex-home"
    write_codex_home(home, base_url=fake_server.base_url)
    repo = make_git_repo(tmp_path / "repo")
    cli = CodexCli(codex_install, home=home, cwd=repo)
    run = await asyncio.to_thread(cli.exec, "from codex")
    assert run.ok, run.describe()
    thread_id = run.thread_id
    assert thread_id, run.describe()

    store = LocalThreadStore(home=home)
    model = _model(fake_server)
    try:
        manager = ThreadManager(store, model=model)
        thread = await manager.resume_thread(thread_id)
        assert thread.config_snapshot().cwd == str(repo)
        initial = thread.session_configured["initial_messages"]
        assert [m["message"] for m in initial if m["type"] == "user_message"] == ["from codex"]
        events = await run_turn(thread, "from threadstore")
        assert events[-1].msg["last_agent_message"] == "echo: from threadstore"
        assert "echo: from codex" in _input_text(fake_server)  # we replayed Codex's history
        await manager.shutdown_all(timeout=10)
    finally:
        await model.aclose()
        await store.close()

    assert await _user_texts(home, thread_id) == ["from codex", "from threadstore"]
    # and Codex takes the thread back
    again = await asyncio.to_thread(cli.exec_resume, thread_id, "back in codex")
    assert again.ok, again.describe()
    assert again.agent_messages == ["echo: back in codex"], again.describe()
    assert await _user_texts(home, thread_id) == ["from codex", "from threadstore", "back in codex"]


async def test_codex_app_server_lists_and_reads_a_thread_written_by_threadstore(
    codex_install: CodexInstall, fake_server: FakeResponsesServer, tmp_path: Path
) -> None:
    from threadstore import ThreadMetadataPatch

    home = tmp_path / "codex-home"
    write_codex_home(home, base_url=fake_server.base_url)
    repo = make_git_repo(tmp_path / "repo")
    store = LocalThreadStore(home=home)
    model = _model(fake_server)
    try:
        manager = ThreadManager(store, model=model)
        thread = await manager.start_thread(ThreadConfig(cwd=str(repo), model="gpt-fake", model_provider="fake"))
        await run_turn(thread, "plan the storage layer")
        await run_turn(thread, "write the tests")
        await manager.update_thread_metadata(thread.thread_id, ThreadMetadataPatch(name="Named by threadstore"))
        assert (await manager.shutdown_all(timeout=10)).all_stopped
    finally:
        await model.aclose()
        await store.close()

    cli = CodexCli(codex_install, home=home, cwd=repo)
    listed, reads = await asyncio.to_thread(cli.list_and_read_threads)
    by_id = {t["id"]: t for t in listed["data"]}
    assert thread.thread_id in by_id, listed
    entry = by_id[thread.thread_id]
    assert entry["preview"] == "plan the storage layer"
    assert entry["name"] == "Named by threadstore"
    assert entry["cwd"] == str(repo)
    read = next(r["thread"] for r in reads if r["thread"]["id"] == thread.thread_id)
    turns = [[(i["type"], i.get("text")) for i in turn["items"]] for turn in read["turns"]]
    assert turns == [
        [("userMessage", None), ("agentMessage", "echo: plan the storage layer")],
        [("userMessage", None), ("agentMessage", "echo: write the tests")],
    ]
