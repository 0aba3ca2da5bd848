"""The two environments a run uses, and how a workload runs in each as a subprocess.

Ours run in the project's environment (the interpreter running ``python -m bench``). The anchors
run in their own virtual environment, kept outside the repository under the bench cache
(``$THREADSTORE_BENCH_CACHE``, default ``~/.cache/threadstore-bench``) as ``anchors-venv``, with
pinned versions; it is created, or brought to those versions, on first use. Every workload is
one process speaking one JSON line on stdout (:mod:`bench.measure`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

__all__ = ["ANCHOR_PACKAGES", "REPO", "RunnerError", "RunnerResult", "anchors_python", "cache_dir", "run_module"]

REPO: Final = Path(__file__).resolve().parent.parent

ANCHOR_PACKAGES: Final = (
    "openai-agents[sqlalchemy]==0.24.0",
    "sqlalchemy==2.1.9",
    "asyncpg==0.32.0",
    "langgraph-checkpoint-sqlite==3.1.2",
    "claude-agent-sdk==0.2.184",
    "matplotlib==3.11.2",
)
"""The anchors (and the plotting library), at the versions the published figures come from."""


class RunnerError(RuntimeError):
    """A runner failed or printed no result."""


@dataclass(frozen=True)
class RunnerResult:
    metrics: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0


def cache_dir() -> Path:
    """Where the anchors' environment (and nothing else of the project) is kept."""
    configured = os.environ.get("THREADSTORE_BENCH_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "threadstore-bench"


def anchors_python(log: Any = sys.stderr) -> Path:
    """The anchors' interpreter, installing them first if needed (idempotent: a stamp file
    records what was installed)."""
    root = cache_dir() / "anchors-venv"
    python = root / "bin" / "python"
    stamp = root / "bench-requirements.txt"
    wanted = "\n".join(ANCHOR_PACKAGES) + "\n"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"installing the anchors into {root} (once) ...", file=log, flush=True)
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(root)
    for command in (
        [str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [str(python), "-m", "pip", "install", "--quiet", *ANCHOR_PACKAGES],
    ):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RunnerError(f"installing the anchors failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    stamp.write_text(wanted)
    return python


def run_module(python: Path | str, module: str, args: list[str], *, timeout: float = 1800) -> RunnerResult:
    """Run ``python -m module *args`` from the repository root and parse its result line."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONSTARTUP", None)
    done = subprocess.run(
        [str(python), "-m", module, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RunnerError(f"{module} {' '.join(args)[:200]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1])
    return RunnerResult(dict(result.get("metrics", {})), float(result.get("peak_rss_mb", 0.0)))
