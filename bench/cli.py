"""``python -m bench``: ours against the anchors and the hardware, in one run.

    python -m bench [--quick] [--only WORKLOAD,...] [--json FILE] [--plots DIR]
                    [--no-anchors] [--no-codex] [--workdir DIR] [--keep]

Installs the anchors into their own environment on first use (:mod:`bench.envs`), writes the
data sets into a temporary work directory (``--workdir``, or ``$BENCH_DIR`` to measure another
disk; removed afterwards unless ``--keep``), runs every selected workload, prints the table,
peak memory and the design's bars, and writes JSON and plots when asked. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import report, targets
from .envs import ANCHOR_PACKAGES, anchors_python
from .workloads import FULL, QUICK, WORKLOADS, Context

__all__ = ["machine", "main"]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "system": f"{platform.system()} {platform.release()}",
        "anchors": list(ANCHOR_PACKAGES),
    }
    try:
        with open("/proc/meminfo") as handle:
            info["memory_gib"] = round(int(handle.readline().split()[1]) / 1024**2, 1)
        with open("/proc/cpuinfo") as handle:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    except OSError:
        pass
    try:
        source = subprocess.run(
            ["df", "--output=source,fstype", tempfile.gettempdir()], capture_output=True, text=True, check=False
        )
        device, fstype = source.stdout.splitlines()[-1].split()
        info["filesystem"] = fstype
        name = Path(device).name.rstrip("0123456789")
        rotational = Path(f"/sys/block/{name}/queue/rotational")
        if rotational.exists():  # as the kernel reports it (virtual disks often say rotational)
            info["disk"] = f"{name}, rotational={rotational.read_text().strip()}"
    except (OSError, ValueError, IndexError):
        pass
    return info


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of a minute or two")
    parser.add_argument("--only", help=f"comma-separated workloads among: {', '.join(WORKLOADS)}")
    parser.add_argument("--json", type=Path, help="write the results (rows, memory, bars, machine) to FILE")
    parser.add_argument(
        "--plots", type=Path, help="write PNG and SVG plots into DIR (matplotlib, anchors' environment)"
    )
    parser.add_argument("--no-anchors", action="store_true", help="ours only (no anchors' environment needed)")
    parser.add_argument("--no-codex", action="store_true", help="do not run real Codex (no npm needed)")
    parser.add_argument("--workdir", type=Path, help="where to write the data sets (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the data sets afterwards")
    args = parser.parse_args(argv)
    selected = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [w for w in selected if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(unknown)}")
    args.selected = selected
    return args


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    if not args.no_anchors:
        anchors_python()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="threadstore-bench-", dir=os.environ.get("BENCH_DIR")))
    work.mkdir(parents=True, exist_ok=True)
    ctx = Context(work, QUICK if args.quick else FULL, with_anchors=not args.no_anchors, with_codex=not args.no_codex)
    try:
        for name in args.selected:
            WORKLOADS[name](ctx)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    bars = targets.judge(ctx.rows)
    print(report.text_table(ctx.rows))
    print("\npeak resident memory of the measuring process (MiB)")
    print(report.memory_table(ctx.memory))
    print("\nthe performance bars (BENCHMARKS.md)")
    print(targets.text(bars))
    results = {
        "machine": machine(),
        "quick": args.quick,
        "rows": report.as_json(ctx.rows),
        "memory": ctx.memory,
        "series": ctx.series,
        "bars": targets.as_json(bars),
    }
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    if args.plots:
        _plots(results, args.plots)


def _plots(results: dict[str, Any], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(results, handle)
    try:
        from .envs import REPO

        env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
        subprocess.run(
            [str(anchors_python()), "-m", "bench.anchors.plots", handle.name, str(directory)],
            cwd=REPO,
            env=env,
            check=True,
        )
    finally:
        os.unlink(handle.name)
    print(f"\nplots written to {directory}", file=sys.stderr)
