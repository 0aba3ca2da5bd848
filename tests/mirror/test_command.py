"""``threadstore mirror`` and ``threadstore checkout`` as programs: the one-off summary, a
mirror killed with SIGKILL mid-way and started again (no gap, no duplicate, on PostgreSQL
directly, whose writer leases the new process takes over at once), a clean stop on SIGTERM,
one mirror of the same homes at a time."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from threadstore import ReadThreadParams
from threadstore._backends.registry import open_store
from threadstore._mirror.checkpoint import Checkpoint, source_key

from ..fixtures import CODEX_HOME_0125, CODEX_HOME_0169
from ..postgres_server import PostgresServer
from .support import append, codex_home, codex_line, differences, rollouts


def _mirror(log: Path, *args: str) -> subprocess.Popen[bytes]:
    """``threadstore mirror ARGS`` as a process, its structured log going to ``log``."""
    with open(log, "ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "threadstore", "mirror", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def _events(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def _differences(url: str, home: Path) -> list[str]:
    async def work() -> list[str]:
        store = open_store(url)
        try:
            return await differences(store, home)
        finally:
            await store.close()

    return asyncio.run(work())


def _open_checkpoints(url: str, home: Path, host: str) -> list[str]:
    """The threads whose checkpoint is missing or still open."""

    async def work() -> list[str]:
        store = open_store(url)
        key = source_key(host, home.resolve())
        found = []
        try:
            for thread_id in rollouts(home):
                thread = await store.read_thread(ReadThreadParams(thread_id, include_archived=True))
                checkpoint = Checkpoint.decode(thread.labels.get(key))
                if checkpoint is None or checkpoint.open:
                    found.append(thread_id)
        finally:
            await store.close()
        return found

    return asyncio.run(work())


def test_a_one_off_run_prints_what_moved(tmp_path: Path) -> None:
    home = codex_home(CODEX_HOME_0169, tmp_path / "home")
    url = f"local:{tmp_path / 'target'}"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "threadstore",
            "mirror",
            str(home),
            "--to",
            url,
            "--once",
            "--json",
            "--host-label",
            "ci",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["created"] == 5
    assert summary["archived"] == 1
    assert summary["error"] is None
    assert summary["lines"] == sum(len(p.read_bytes().splitlines()) for p in rollouts(home).values())
    assert {e["event"] for e in summary["events"]} >= {"created", "archived"}
    assert _differences(url, home) == []
    again = subprocess.run(
        [sys.executable, "-m", "threadstore", "mirror", str(home), "--to", url, "--once", "--host-label", "ci"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("mirrored: 0 created, 0 lines"), again.stdout


def test_killed_mid_way_and_started_again_nothing_lost_or_doubled(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    dsn = postgres_server.create_database()
    home = codex_home(CODEX_HOME_0125, tmp_path / "home")
    paths = list(rollouts(home).values())
    stop = threading.Event()

    def write() -> None:  # Codex writing turns all along
        n = 0
        while not stop.is_set():
            append(paths[n % len(paths)], codex_line(f"line {n}"))
            n += 1
            time.sleep(0.005)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        first = _mirror(tmp_path / "first.log", str(home), "--to", dsn, "--host-label", "k")
        time.sleep(2.0)
        first.send_signal(signal.SIGKILL)  # mid-way: writers open, checkpoints open
        first.wait(timeout=10)
        log = tmp_path / "second.log"
        second = _mirror(log, str(home), "--to", dsn, "--host-label", "k")
        time.sleep(1.5)
        stop.set()
        writer.join()
        deadline = time.monotonic() + 30
        while _differences(dsn, home) and time.monotonic() < deadline:
            time.sleep(0.2)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, log.read_text()
        kinds = [e["event"] for e in _events(log)]
        assert "appended" in kinds
        assert "rewritten" not in kinds
        assert "stopped" not in kinds
        assert _differences(dsn, home) == []
        assert _open_checkpoints(dsn, home, "k") == []  # stopped cleanly: every checkpoint exact
    finally:
        stop.set()
        postgres_server.drop_database(dsn)


def test_one_mirror_of_the_same_homes_at_a_time(tmp_path: Path) -> None:
    home = codex_home(CODEX_HOME_0125, tmp_path / "home")
    url = f"local:{tmp_path / 'target'}"
    first = _mirror(tmp_path / "mirror.log", str(home), "--to", url)
    try:
        time.sleep(1.0)
        second = subprocess.run(
            [sys.executable, "-m", "threadstore", "mirror", str(home), "--to", url],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 4
        assert "already running" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)
    assert first.returncode == 0
    assert os.path.isdir(tmp_path / "target")
