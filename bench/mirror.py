"""``python -m bench.mirror``: the figures of ``threadstore mirror``.

* **lag**: from a line written to a rollout to the same line readable in the target. A writer
  in this process appends to the rollouts of a Codex home the way Codex does (one ``write`` per
  line, a burst of lines per turn, then a pause) while ``threadstore mirror --json`` runs as a
  process of its own; each event it prints carries the time its append returned (the line is
  then committed in the target: readable). Lag = that time - the time the writer's ``write``
  returned. Median, p90, p99 and max, on a local target and on PostgreSQL through
  ``threadstore serve`` (a process of its own, on a throwaway server). Afterwards every thread
  of the target is compared with its rollout, byte for byte.
* **lag with real Codex** (``--only codex``): Codex 0.125.0 (npm, through the test suite's peer
  harness) runs turns in a home while the mirror runs into PostgreSQL through the server; each
  ``appended`` event says how long after the rollout's last write its append returned (the lag
  of the newest line it carried).
* **catch-up**: ``threadstore mirror --once`` on a never-mirrored home of N threads (16 lines
  each, ``bench/codex_home.py``), into a local target, into PostgreSQL directly and through
  ``threadstore serve``: wall time, threads and lines per second, and the mirror's peak resident
  memory (its own, from ``wait4``) with its resident memory sampled while it catches up.

Nothing here asserts a figure; ``BENCHMARKS.md`` reports them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from threadstore._backends.registry import open_store
from threadstore._compressed import read_file
from threadstore._rollout.files import thread_id_from_name
from threadstore._transfer.record import read_record, rollout_bytes

from .codex_home import ITEMS_PER_THREAD, write_home
from .postgres import databases

_PY = sys.executable


# -- processes ------------------------------------------------------------------------------------


@contextmanager
def serve(dsn: str) -> Iterator[str]:
    """``threadstore serve`` on ``dsn`` as a process; yields its ``grpc://`` URL."""
    process = subprocess.Popen(
        [_PY, "-m", "threadstore._server", "--listen", "127.0.0.1:0", "--store", dsn, "--quiet"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the server did not start: {line!r}")
        yield f"grpc://{line.split()[-1]}"
    finally:
        process.terminate()
        process.wait(timeout=30)


class MirrorProcess:
    """``threadstore mirror HOME --to URL --json`` running; its events collected as they come."""

    def __init__(self, home: Path, url: str) -> None:
        self.process = subprocess.Popen(
            [_PY, "-m", "threadstore", "mirror", str(home), "--to", url, "--json", "--host-label", "bench"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                event = json.loads(line)
                event["at"] = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()
                self.events.append(event)

    def wait_for(self, check: Any, within: float) -> None:
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the mirror did not get there in time")
            time.sleep(0.01)

    def stop(self) -> int:
        self.process.terminate()
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        return code


# -- lag ------------------------------------------------------------------------------------------


def _line(text: str) -> bytes:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    body = {"timestamp": stamp, "type": "event_msg", "payload": {"type": "agent_message", "message": text}}
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def _rollouts(home: Path) -> dict[str, Path]:
    return {tid: p for p in home.rglob("rollout-*.jsonl") if (tid := thread_id_from_name(p.name))}


def write_turns(home: Path, turns: int, lines_per_turn: int, gap: float, pause: float) -> dict[str, list[float]]:
    """Write ``turns`` bursts of lines, Codex-like; the time each line's write returned, per
    thread, in order."""
    paths = sorted(_rollouts(home).items())
    written: dict[str, list[float]] = {}
    for turn in range(turns):
        thread_id, path = paths[turn % len(paths)]
        with open(path, "ab") as f:
            for n in range(lines_per_turn):
                f.write(_line(f"turn {turn} line {n}"))
                f.flush()
                written.setdefault(thread_id, []).append(time.time())
                time.sleep(gap)
        time.sleep(pause)
    return written


def lags(events: list[dict[str, Any]], written: dict[str, list[float]], started: float) -> list[float]:
    """Each written line's lag: the time the append that carried it returned - its write."""
    taken = {thread_id: 0 for thread_id in written}
    found: list[float] = []
    for event in events:
        thread_id = event.get("thread_id")
        if event["event"] != "appended" or thread_id not in written or event["at"] < started:
            continue
        for _ in range(event.get("lines", 0)):
            index = taken[thread_id]
            if index < len(written[thread_id]):
                found.append(event["at"] - written[thread_id][index])
            taken[thread_id] = index + 1
    return found


async def _exact(url: str, home: Path) -> int:
    """How many threads of the target differ from their rollouts (0: an exact copy)."""
    store = open_store(url)
    try:
        wrong = 0
        for thread_id, path in _rollouts(home).items():
            record = await read_record(store, thread_id)
            wrong += rollout_bytes(record) != read_file(path)
        return wrong
    finally:
        await store.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_lag(url: str, work: Path, *, threads: int, turns: int, lines_per_turn: int) -> dict[str, Any]:
    home = work / "lag-home"
    write_home(home, threads, dataset="lag")
    mirror = MirrorProcess(home, url)
    try:
        mirror.wait_for(lambda: any(e["event"] == "caught_up" for e in mirror.events), 300)
        started = time.time()
        written = write_turns(home, turns, lines_per_turn, gap=0.02, pause=0.15)
        total = sum(len(v) for v in written.values())
        mirror.wait_for(lambda: len(lags(mirror.events, written, started)) >= total, 60)
        found = lags(mirror.events, written, started)
    finally:
        code = mirror.stop()
    return {
        "lines": len(found),
        "median_ms": statistics.median(found) * 1000,
        "p90_ms": _percentile(found, 0.90) * 1000,
        "p99_ms": _percentile(found, 0.99) * 1000,
        "max_ms": max(found) * 1000,
        "clean_stop": code == 0,
        "threads_differing": asyncio.run(_exact(url, home)),
    }


def measure_codex_lag(url: str, work: Path, turns: int) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.peers.codex_cli import CodexCli
    from tests.peers.codex_home import make_git_repo, write_codex_home
    from tests.peers.codex_install import ensure_codex
    from tests.peers.fake_responses import FakeResponsesServer

    home = work / "codex-home"
    with FakeResponsesServer() as fake:
        write_codex_home(home, base_url=fake.base_url)
        cli = CodexCli(ensure_codex("0.125.0"), home, make_git_repo(work / "codex-work"))
        first = cli.exec("warm up")
        mirror = MirrorProcess(home, url)
        try:
            mirror.wait_for(lambda: any(e["event"] == "caught_up" for e in mirror.events), 120)
            started = time.time()
            for turn in range(turns):
                assert first.thread_id is not None
                cli.exec_resume(first.thread_id, f"turn {turn}") if turn % 2 else cli.exec(f"thread {turn}")
            time.sleep(3)
        finally:
            code = mirror.stop()
    found = [e["lag_ms"] / 1000 for e in mirror.events if e["event"] in ("appended", "created") and e["at"] >= started]
    return {
        "appends": len(found),
        "lines": sum(e.get("lines", 0) for e in mirror.events if e["at"] >= started),
        "median_ms": statistics.median(found) * 1000,
        "p90_ms": _percentile(found, 0.90) * 1000,
        "p99_ms": _percentile(found, 0.99) * 1000,
        "max_ms": max(found) * 1000,
        "clean_stop": code == 0,
        "threads_differing": asyncio.run(_exact(url, home)),
    }


# -- catch-up -------------------------------------------------------------------------------------


def _rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def measure_catch_up(url: str, home: Path, threads: int) -> dict[str, Any]:
    started = time.monotonic()
    process = subprocess.Popen(
        [_PY, "-m", "threadstore", "mirror", str(home), "--to", url, "--once", "--json", "--host-label", "bench"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    samples: list[float] = []
    output: list[bytes] = []
    reader = threading.Thread(target=lambda: output.append(process.stdout.read() if process.stdout else b""))
    reader.start()
    while True:  # (wait4: this process's own peak memory, not its siblings')
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        rss = _rss_mb(process.pid)
        if rss is not None:
            samples.append(rss)
        time.sleep(0.5)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.monotonic() - started
    reader.join()
    summary = json.loads(output[0]) if output and output[0] else {}
    peak = usage.ru_maxrss / 1024
    return {
        "threads": threads,
        "seconds": elapsed,
        "threads_per_s": threads / elapsed,
        "lines_per_s": threads * ITEMS_PER_THREAD / elapsed,
        "created": summary.get("created"),
        "lines": summary.get("lines"),
        "peak_rss_mb": peak,
        "rss_samples_mb": [round(s, 1) for s in samples[:: max(1, len(samples) // 10)]],
        "exit_code": process.returncode,
    }


# -- the run --------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    only = set(args.only.split(",")) if args.only else {"lag", "catchup"}
    base = Path(args.workdir) if args.workdir else None
    with tempfile.TemporaryDirectory(dir=base) as tmp, databases(args.dsn) as make_db:
        work = Path(tmp)
        if "lag" in only:
            shape = {"threads": 20, "turns": args.turns, "lines_per_turn": 10}
            results["lag_local"] = measure_lag(f"local:{work / 'lag-local'}", work / "l1", **shape)
            with serve(make_db()) as url:
                results["lag_postgres_server"] = measure_lag(url, work / "l2", **shape)
        if "codex" in only:
            with serve(make_db()) as url:
                results["lag_codex_postgres_server"] = measure_codex_lag(url, work / "codex", args.turns)
        if "catchup" in only:
            home = work / "catch-up-home"
            written = write_home(home, args.threads, dataset="catchup", heavy=args.heavy)
            results["catch_up_home"] = {"threads": args.threads, "bytes": written, "heavy": args.heavy}
            results["catch_up_local"] = measure_catch_up(f"local:{work / 'cu-local'}", home, args.threads)
            results["catch_up_postgres"] = measure_catch_up(make_db(), home, args.threads)
            with serve(make_db()) as url:
                results["catch_up_postgres_server"] = measure_catch_up(url, home, args.threads)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dsn", help="a PostgreSQL server to use (a database is created per figure)")
    parser.add_argument("--threads", type=int, default=20_000, help="threads of the home caught up")
    parser.add_argument("--heavy", action="store_true", help="real-size session metadata (~32 KB a thread)")
    parser.add_argument("--turns", type=int, default=60, help="turns written while measuring the lag")
    parser.add_argument("--only", help="lag,codex,catchup (default: lag,catchup)")
    parser.add_argument("--workdir", help="where the homes and local targets go (default: a temporary directory)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    results = run(args)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, values in results.items():
        print(f"{name}:")
        for key, value in values.items():
            shown = f"{value:.1f}" if isinstance(value, float) else value
            print(f"  {key:<18} {shown}")


if __name__ == "__main__":
    main()
