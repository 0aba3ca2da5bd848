"""Progress bars only for people (stderr on a terminal, never with --quiet), and failures told
in one line of ours: no gRPC log lines, no library wording."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from threadstore._backends.local import LocalThreadStore
from threadstore._cli import progress
from threadstore._cli.progress import ProgressBar, index_progress, progress_wanted

from .helpers import invoke


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_only_on_a_terminal_and_never_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", _Stream(tty=True))
    assert progress_wanted(quiet=False)
    assert not progress_wanted(quiet=True)
    monkeypatch.setattr(sys, "stderr", _Stream(tty=False))
    assert not progress_wanted(quiet=False)


def test_a_bar_appears_only_for_long_work() -> None:
    buffer = io.StringIO()
    bar = ProgressBar("indexing", enabled=True, threshold=100, console=Console(file=buffer, force_terminal=True))
    bar.update(10, 50)  # short work: no bar
    assert buffer.getvalue() == ""
    bar.update(250, 1000)
    bar.close()
    assert "indexing" in buffer.getvalue()
    assert "250/1000" in buffer.getvalue()
    disabled = io.StringIO()
    off = ProgressBar("x", enabled=False, console=Console(file=disabled, force_terminal=True))
    off.update(5, 10)
    off.close()
    assert disabled.getvalue() == ""


async def test_index_progress_hooks_a_local_store(tmp_path: Path) -> None:
    async with LocalThreadStore(tmp_path / "home") as store:
        with index_progress(store, enabled=True):
            assert store.index_progress is not None
        assert store.index_progress is None
        with index_progress(store, enabled=False):
            assert store.index_progress is None


def test_reindex_reports_progress_unless_quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from threadstore._cli import app, manage

    from .helpers import chat, runner, with_store

    url = f"local:{tmp_path / 'home'}"
    (tmp_path / "home").mkdir()
    with_store(url, lambda s: chat(s, ["hello"]))
    bars: list[tuple[bool, list[tuple[int, int | None]]]] = []

    class Recorder(ProgressBar):
        def __init__(self, description: str, *, enabled: bool, **options: object) -> None:
            super().__init__(description, enabled=False)
            bars.append((enabled, []))

        def update(self, done: int, total: int | None, description: str | None = None) -> None:
            bars[-1][1].append((done, total))

    monkeypatch.setattr(manage, "ProgressBar", Recorder)
    monkeypatch.setattr(progress, "sys", SimpleNamespace(stderr=_Stream(tty=True)))  # stderr as a terminal
    assert runner.invoke(app, ["--store", url, "reindex"]).exit_code == 0
    assert runner.invoke(app, ["--quiet", "--store", url, "reindex"]).exit_code == 0
    assert [enabled for enabled, _ in bars] == [True, False]
    assert bars[0][1][-1] == (1, 1)  # every rollout read was reported


def test_serve_on_a_busy_port_says_so_in_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        command = [
            sys.executable,
            "-m",
            "threadstore",
            "--store",
            "memory:",
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if " INFO " not in line]  # the server's own log
    assert errors == [
        f"error: cannot listen on 127.0.0.1:{port}: the address is in use or not available here "
        "(choose another with --listen HOST:PORT; port 0 picks a free one)"
    ]


def test_an_unreachable_server_is_named() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        code, out, err = invoke(f"grpc://127.0.0.1:{port}", "list", "--json")
    assert code == 1
    assert f"cannot reach the thread server at grpc://127.0.0.1:{port}" in err
    assert "thread-store internal error" not in err
    assert '"code":"unavailable"' in out


@pytest.mark.parametrize("command", [["serve"], ["ui"]])
def test_servers_announce_their_address_as_json(command: list[str], tmp_path: Path) -> None:
    args = [
        sys.executable,
        "-m",
        "threadstore",
        "--store",
        "memory:",
        *command,
        "--listen",
        "127.0.0.1:0",
        "--json",
    ]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        announced = json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert announced["store"] == "memory:"
    address = announced.get("listening") or announced["url"]
    assert address.startswith(("127.0.0.1:", "http://127.0.0.1:"))
