"""Real Codex clients against ``threadstore serve`` (``experimental_thread_store_endpoint``), with
the server on the local store and on PostgreSQL.

Codex 0.125.0 and 0.128.0 run ``codex exec`` offline against the fake Responses server with the
server as their thread store; the stored thread must start with the ``session_meta`` the server
wrote (real cwd), hold the conversation and none of the never-persisted events; Codex 0.128.0's
``app-server`` lists and reads it; ``threadstore show`` prints it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from threadstore import ReadThreadParams, StoredThread
from threadstore._backends.remote import RemoteThreadStore

from ..peers.codex_cli import CodexCli, CodexRun
from ..peers.codex_home import make_git_repo, write_codex_home
from ..peers.codex_install import APP_SERVER_VERSION, EXEC_VERSION, require_codex
from ..peers.fake_responses import FakeResponsesServer
from ..postgres_server import shared_server
from .server_process import serve_process

pytestmark = pytest.mark.codex

NEVER_STORED_EVENTS = {
    "session_configured",
    "warning",
    "raw_response_item",
    "item_started",
    "agent_message_delta",
    "agent_message_content_delta",
    "shutdown_complete",
}
PERSISTENCE_ERRORS = ("failed to record rollout items", "thread-store", "remote thread store")


def local_url(tmp: Path) -> str:
    return f"local:{tmp / 'store-home'}"


@contextmanager
def backing_store(kind: str, tmp: Path) -> Iterator[str]:
    """The URL of the store the server runs: a local home, or a database of its own on the test
    session's PostgreSQL server."""
    if kind == "local":
        yield local_url(tmp)
        return
    server = shared_server()
    dsn = server.create_database()
    try:
        yield dsn
    finally:
        server.drop_database(dsn)


@pytest.fixture(scope="module", params=["local", "postgres"])
def environment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, FakeResponsesServer, Path]]:
    tmp = tmp_path_factory.mktemp(f"codex-remote-{request.param}")
    with (
        backing_store(request.param, tmp) as url,
        serve_process(url) as address,
        FakeResponsesServer() as fake,
    ):
        yield address, fake, tmp


def codex_for(version: str, environment: tuple[str, FakeResponsesServer, Path]) -> CodexCli:
    address, fake, tmp = environment
    home = tmp / f"codex-home-{version}"
    write_codex_home(home, base_url=fake.base_url, thread_store_endpoint=f"http://{address}")
    work = make_git_repo(tmp / f"work-{version}")
    return CodexCli(require_codex(version), home, work)


def read_stored(address: str, thread_id: str) -> StoredThread:
    async def read() -> StoredThread:
        client = RemoteThreadStore(f"grpc://{address}")
        try:
            return await client.read_thread(ReadThreadParams(thread_id, include_history=True))
        finally:
            await client.close()

    return asyncio.run(read())


def check_stored_thread(stored: StoredThread, cli: CodexCli, prompt: str) -> None:
    assert stored.history is not None
    history: list[dict[str, Any]] = stored.history.items
    meta = history[0]
    assert meta["type"] == "session_meta"
    assert meta["payload"]["id"] == stored.thread_id
    assert os.path.realpath(meta["payload"]["cwd"]) == os.path.realpath(cli.cwd)
    assert meta["payload"]["source"] == "exec"
    assert [i for i in history if i["type"] == "session_meta"] == [meta]
    events = [i["payload"].get("type") for i in history if i["type"] == "event_msg"]
    assert "user_message" in events
    assert "agent_message" in events
    assert not NEVER_STORED_EVENTS & set(events)
    agent = [
        i["payload"]["message"]
        for i in history
        if i["type"] == "event_msg" and i["payload"].get("type") == "agent_message"
    ]
    assert agent == [f"echo: {prompt}"]
    assert os.path.realpath(stored.cwd) == os.path.realpath(cli.cwd)
    assert stored.preview == prompt
    assert stored.model == "gpt-fake"
    assert stored.model_provider == "fake"


def run_exec(cli: CodexCli, prompt: str, timeout: float) -> CodexRun:
    run = cli.exec(prompt, timeout=timeout)
    assert run.thread_id, run.describe()
    assert run.agent_messages == [f"echo: {prompt}"], run.describe()
    for marker in PERSISTENCE_ERRORS:
        assert marker not in run.stderr, run.describe()
    return run


def test_codex_0128_exec_persists_through_the_server(environment: tuple[str, FakeResponsesServer, Path]) -> None:
    cli = codex_for(APP_SERVER_VERSION, environment)
    prompt = "hello from codex 0.128 over grpc"
    run = run_exec(cli, prompt, timeout=120)
    assert run.ok, run.describe()
    stored = read_stored(environment[0], str(run.thread_id))
    check_stored_thread(stored, cli, prompt)
    assert stored.history is not None
    assert stored.history.items[-1]["payload"].get("type") == "task_complete"


def test_codex_0125_exec_persists_through_the_server(environment: tuple[str, FakeResponsesServer, Path]) -> None:
    cli = codex_for(EXEC_VERSION, environment)
    prompt = "hello from codex 0.125 over grpc"
    run = run_exec(cli, prompt, timeout=30)
    stored = read_stored(environment[0], str(run.thread_id))
    check_stored_thread(stored, cli, prompt)
    if not run.ok:
        # Observed with 0.125.0: after the turn's final FlushThread it opens a connection for one
        # more call, drops it before sending anything, and never completes the turn (0.128.0 sends
        # ReadThread + ShutdownThread there). The server never sees a request to answer.
        pytest.xfail("Codex 0.125.0 exec never finishes its turn with a remote thread store")


def test_app_server_0128_lists_and_reads_and_cli_shows(environment: tuple[str, FakeResponsesServer, Path]) -> None:
    address = environment[0]
    cli = codex_for(APP_SERVER_VERSION, environment)
    prompt = "listed by the app server"
    run = run_exec(cli, prompt, timeout=120)
    assert run.ok, run.describe()
    thread_id = str(run.thread_id)

    listed, reads = cli.list_and_read_threads(list_params={"sourceKinds": ["exec"], "limit": 50})
    by_id = {t["id"]: t for t in listed["data"]}
    assert thread_id in by_id, listed
    entry = by_id[thread_id]
    assert entry["preview"] == prompt
    assert os.path.realpath(entry["cwd"]) == os.path.realpath(cli.cwd)
    assert entry["path"]  # Codex requires a rollout path on every thread
    read = next(r["thread"] for r in reads if r["thread"]["id"] == thread_id)
    turn_items = [item for turn in read["turns"] for item in turn["items"]]
    assert [i["type"] for i in turn_items] == ["userMessage", "agentMessage"]
    assert turn_items[1]["text"] == f"echo: {prompt}"

    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "threadstore",
            "--store",
            f"grpc://{address}",
            "show",
            thread_id,
            "--history",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    thread = json.loads(shown.stdout)
    assert thread["thread_id"] == thread_id
    assert thread["preview"] == prompt
    assert thread["history"][0]["type"] == "session_meta"
