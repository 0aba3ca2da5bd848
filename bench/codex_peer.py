"""Real Codex 0.125.0 answering ``thread/list`` on a home (run in the project's environment).

``python -m bench.codex_peer PARAMS_JSON`` starts ``codex app-server`` (installed from npm by the
peer harness in ``tests/peers``) on the home ``runs`` times. Each time, what Codex added to the
home in the run before (its ``state_*.sqlite``, logs and other files) is removed first, so every
run meets the home as a Codex user with a never-indexed home does; the first ``thread/list``
page after ``initialize`` is timed, then warm pages. Listing never calls the model, but Codex
needs a provider in ``config.toml``: it points at the peer harness's local Responses stand-in.
Codex's peak resident memory (``VmHWM``) is read before it exits.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from tests.peers.codex_app_server import AppServerClient
from tests.peers.codex_cli import CodexCli
from tests.peers.codex_home import write_codex_home
from tests.peers.codex_install import EXEC_VERSION, ensure_codex
from tests.peers.fake_responses import FakeResponsesServer

from .measure import emit

__all__ = ["codex_list"]

PAGE = 50


def _clean(home: Path, keep: set[str]) -> None:
    for entry in home.iterdir():
        if entry.name not in keep:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def _peak_rss_mb(client: AppServerClient) -> float:
    process = client._proc  # the harness keeps the child; its pid is all we read
    if process is None:
        return 0.0
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _one_run(cli: CodexCli, warm_runs: int) -> tuple[float, list[float], float, int]:
    with cli.app_server() as client:
        client.initialize()
        # modelProviders=[]: every provider (Codex's default is the configured provider only;
        # ours lists every provider by default).
        started = time.perf_counter()
        page = client.thread_list(limit=PAGE, modelProviders=[])
        first = time.perf_counter() - started
        warm = []
        for _ in range(warm_runs):
            started = time.perf_counter()
            client.thread_list(limit=PAGE, modelProviders=[])
            warm.append(time.perf_counter() - started)
        rss = _peak_rss_mb(client)
    return first, warm, rss, len(page.get("data", []))


def codex_list(home: Path, *, runs: int, warm_runs: int = 10, version: str = EXEC_VERSION) -> dict[str, Any]:
    """Time Codex's first and warm ``thread/list`` pages on ``home`` (see the module docs)."""
    install = ensure_codex(version)
    keep = {entry.name for entry in home.iterdir()} | {"config.toml"}
    firsts: list[float] = []
    warms: list[float] = []
    peak = 0.0
    with FakeResponsesServer() as server:
        write_codex_home(home, base_url=server.base_url)
        cli = CodexCli(install, home, home.parent)
        try:
            for _ in range(runs):
                _clean(home, keep)
                first, warm, rss, listed = _one_run(cli, warm_runs)
                assert listed == PAGE, f"Codex listed {listed} threads"
                firsts.append(first)
                warms.extend(warm)
                peak = max(peak, rss)
        finally:
            _clean(home, keep - {"config.toml"})
    return {
        "first_ms": statistics.median(firsts) * 1e3,
        "warm_ms": statistics.median(warms) * 1e3,
        "codex_peak_rss_mb": peak,
    }


def main() -> None:
    params = json.loads(sys.argv[1])
    emit(codex_list(Path(params["home"]), runs=params.get("runs", 3)))


if __name__ == "__main__":
    main()
