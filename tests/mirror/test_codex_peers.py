"""Real Codex builds from npm writing homes while ``threadstore mirror`` runs into PostgreSQL:

* Codex 0.125.0 (turns, a rename, a fork, archiving), mirrored through ``threadstore serve``
  (a server process on PostgreSQL), the mirror killed with SIGKILL mid-way and started again;
* Codex 0.171.0 (paginated threads: turns, a rename, memory mode, a fork by reference,
  archiving), mirrored into PostgreSQL directly; one of its threads is then checked out on a
  second home, resumed there by real Codex, and its new turns come back to the same thread.

Afterwards every thread in the target equals its rollout byte for byte, with its name,
archived state, memory mode and host label.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from threadstore import ReadThreadParams
from threadstore._backends.registry import open_store
from threadstore._mirror.checkpoint import HOST_LABEL

from ..peers.codex_cli import CodexCli
from ..peers.codex_home import make_git_repo, write_codex_home
from ..peers.codex_install import require_codex
from ..peers.fake_responses import FakeResponsesServer
from ..postgres_server import PostgresServer
from ..remote.server_process import serve_process
from .support import differences, rollouts

pytestmark = pytest.mark.codex

LEGACY = "0.125.0"
NEWEST = "0.171.0"


@contextmanager
def mirroring(log: Path, home: Path, url: str, host: str) -> Iterator[subprocess.Popen[bytes]]:
    """``threadstore mirror HOME --to URL`` as a process (stopped with SIGTERM at the end)."""
    process = _start(log, home, url, host)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0, log.read_text()[-3000:]


def _start(log: Path, home: Path, url: str, host: str) -> subprocess.Popen[bytes]:
    with open(log, "ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "threadstore", "mirror", str(home), "--to", url, "--host-label", host],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def _events(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def _wait_for(log: Path, event: str, within: float = 30.0) -> None:
    """Wait until the mirror logging to ``log`` reported ``event``."""
    deadline = time.monotonic() + within
    while not any(e["event"] == event for e in _events(log)):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {event} in {log.read_text()[-2000:]}")
        time.sleep(0.02)


def _query(url: str, work: Any) -> Any:
    async def run() -> Any:
        store = open_store(url)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def _wait_exact(url: str, home: Path, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while True:
        found = _query(url, lambda store: differences(store, home))
        if not found:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the target is not an exact copy of {home}: {found}")
        time.sleep(0.2)


def _thread(url: str, thread_id: str) -> Any:
    return _query(url, lambda store: store.read_thread(ReadThreadParams(thread_id, include_archived=True)))


def _codex(version: str, root: Path, fake: FakeResponsesServer, name: str) -> CodexCli:
    home = root / name
    write_codex_home(home, base_url=fake.base_url)
    return CodexCli(require_codex(version), home, make_git_repo(root / f"{name}-work"))


def test_codex_0125_through_a_server_with_the_mirror_killed_mid_way(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    dsn = postgres_server.create_database()
    try:
        with FakeResponsesServer() as fake, serve_process(dsn) as address:
            url = f"grpc://{address}"
            cli = _codex(LEGACY, tmp_path, fake, "home")
            home = cli.home
            first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
            first = _start(first_log, home, url, "alpha")
            _wait_for(first_log, "caught_up")
            run = cli.exec("plan the storage layer")
            assert run.ok, run.describe()
            thread = run.thread_id
            assert thread is not None
            _wait_for(first_log, "created")
            # Killed while Codex runs a turn: its writer held on the server, its checkpoint open.
            turn = threading.Thread(target=lambda: cli.exec_resume(thread, "add an index"))
            turn.start()
            _wait_for(first_log, "appended")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            turn.join()
            with mirroring(second_log, home, url, "alpha"):
                assert cli.exec_resume(thread, "and a cache").ok
                with cli.app_server() as client:
                    client.initialize()
                    client.request("thread/name/set", {"threadId": thread, "name": "Storage work"})
                    fork = client.request("thread/fork", {"threadId": thread})["thread"]["id"]
                    client.request("thread/archive", {"threadId": thread})
                assert cli.exec("another thread").ok
                _wait_exact(url, home)
            killed_after = [e["event"] for e in _events(first_log)]
            assert killed_after[:3] == ["caught_up", "created", "appended"]
            kinds = [e["event"] for e in _events(second_log)]
            assert "rewritten" not in kinds
            assert "stopped" not in kinds
            assert len(rollouts(home)) == 3
            _wait_exact(url, home, within=5)
            stored = _thread(url, thread)
            assert stored.archived
            assert stored.name == "Storage work"
            assert stored.labels[HOST_LABEL] == "alpha"
            assert _thread(url, fork).forked_from_id == thread
    finally:
        postgres_server.drop_database(dsn)


def test_codex_0171_into_postgres_and_resumed_on_a_second_home(tmp_path: Path, postgres_server: PostgresServer) -> None:
    dsn = postgres_server.create_database()
    try:
        with FakeResponsesServer() as fake:
            cli = _codex(NEWEST, tmp_path, fake, "a")
            with mirroring(tmp_path / "a.log", cli.home, dsn, "alpha"):
                run = cli.exec("plan the storage layer")
                assert run.ok, run.describe()
                thread = run.thread_id
                assert thread is not None
                assert cli.exec_resume(thread, "add an index").ok
                with cli.app_server() as client:
                    client.initialize(experimental_api=True)
                    client.request("thread/name/set", {"threadId": thread, "name": "Storage work"})
                    client.request("thread/memoryMode/set", {"threadId": thread, "mode": "disabled"})
                    fork = client.request("thread/fork", {"threadId": thread})["thread"]["id"]
                    client.request("thread/archive", {"threadId": fork})
                _wait_exact(dsn, cli.home)
                deadline = time.monotonic() + 30
                while _thread(dsn, thread).memory_mode != "disabled" and time.monotonic() < deadline:
                    time.sleep(0.2)
            stored = _thread(dsn, thread)
            assert stored.history_mode == "paginated"
            assert stored.name == "Storage work"
            assert stored.memory_mode == "disabled"
            assert _thread(dsn, fork).archived
            before = len(rollouts(cli.home)[thread].read_bytes().splitlines())

            # The way back: checked out on a second home, resumed there by real Codex.
            other = _codex(NEWEST, tmp_path, fake, "b")
            checkout = subprocess.run(
                [sys.executable, "-m", "threadstore", "--store", dsn, "checkout", thread, "--to-home", str(other.home)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert checkout.returncode == 0, checkout.stderr
            log = tmp_path / "b.log"
            with mirroring(log, other.home, dsn, "beta"):
                resumed = other.exec_resume(thread, "go on at b")
                assert resumed.ok, resumed.describe()
                assert "echo: go on at b" in resumed.agent_messages
                _wait_exact(dsn, other.home)
            events = [e for e in _events(log) if e.get("thread_id") == thread]
            assert "created" not in {e["event"] for e in events}
            assert "appended" in {e["event"] for e in events}
            stored = _thread(dsn, thread)
            assert stored.labels[HOST_LABEL] == "alpha"  # it came from a
            assert stored.memory_mode == "disabled"
            after = len(rollouts(other.home)[thread].read_bytes().splitlines())
            assert after > before
    finally:
        postgres_server.drop_database(dsn)
