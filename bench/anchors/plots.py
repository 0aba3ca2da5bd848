"""Plots of a run (run in the anchors' environment, which has matplotlib):

    python -m bench.anchors.plots RESULTS.json DIR

writes ``list_vs_threads``, ``cold_home`` and ``appends`` as PNG and SVG into DIR, for what a
reader would rather look at than read: how a page's time grows with the number of threads,
ours and the anchors', and where Codex stands on a home it has never seen.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

_STYLE = {
    "ours": ("threadstore (ours)", "#1f77b4"),
    "claude": ("Claude Agent SDK list_sessions", "#d62728"),
    "langgraph": ("LangGraph SqliteSaver (list(None))", "#2ca02c"),
    "codex": ("Codex 0.125.0 thread/list", "#9467bd"),
    "openai": ("OpenAI Agents SQLiteSession", "#ff7f0e"),
}


def _save(fig: Any, directory: Path, name: str) -> None:
    fig.tight_layout()
    for suffix in ("png", "svg"):
        fig.savefig(directory / f"{name}.{suffix}", dpi=110)
    plt.close(fig)


def list_vs_threads(results: dict[str, Any], directory: Path) -> None:
    series = results.get("series", {}).get("list")
    if not series:
        return
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    for who in ("ours", "claude", "langgraph"):
        label, color = _STYLE[who]
        for kind, style, suffix in (("warm_ms", "-o", "warm"), ("first_ms", ":s", "first call")):
            points = series.get(f"{who}.{kind}")
            if points:
                xs = sorted(int(k) for k in points)
                ax.plot(xs, [points[str(x)] for x in xs], style, color=color, label=f"{label}, {suffix}")
    cold = results.get("series", {}).get("cold")
    if cold and cold.get("codex"):
        n = cold["count"]
        ax.plot([n], [cold["codex"]["warm_ms"]], "D", color=_STYLE["codex"][1], label=f"{_STYLE['codex'][0]}, warm")
        ax.plot(
            [n],
            [cold["codex"]["first_ms"]],
            "d",
            mfc="none",
            color=_STYLE["codex"][1],
            label=f"{_STYLE['codex'][0]}, first",
        )
        ax.plot(
            [n],
            [cold["ours"]["first_page_ms"]],
            "x",
            color=_STYLE["ours"][1],
            ms=9,
            label="ours, first page on a never-indexed home",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("threads in the store")
    ax.set_ylabel("one page of 50, newest first (ms)")
    ax.set_title("Listing: time per page against the number of threads")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    _save(fig, directory, "list_vs_threads")


def cold_home(results: dict[str, Any], directory: Path) -> None:
    cold = results.get("series", {}).get("cold")
    if not cold or not cold.get("codex"):
        return
    ours, codex = cold["ours"], cold["codex"]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    labels = ["first page\n(never indexed)", "warm page"]
    xs = range(len(labels))
    ax.bar(
        [x - 0.2 for x in xs],
        [ours["first_page_ms"], ours["warm_ms"]],
        0.4,
        color=_STYLE["ours"][1],
        label="threadstore (ours)",
    )
    ax.bar(
        [x + 0.2 for x in xs],
        [codex["first_ms"], codex["warm_ms"]],
        0.4,
        color=_STYLE["codex"][1],
        label="Codex 0.125.0",
    )
    ax.set_xticks(list(xs), labels)
    ax.set_yscale("log")
    ax.set_ylabel("ms (log scale)")
    ax.set_title(f"A Codex home of {cold['count']:,} threads (full index: {ours['full_index_s']:.1f} s)")
    ax.legend()
    ax.grid(True, axis="y", which="both", alpha=0.3)
    _save(fig, directory, "cold_home")


def appends(results: dict[str, Any], directory: Path) -> None:
    rows = {r["key"]: r for r in results.get("rows", [])}
    durable, fast = rows.get("append.durable"), rows.get("append.fast")
    if not durable:
        return
    bars = [
        ("raw write+fsync", durable["hardware"], "#7f7f7f"),
        ("ours, fsync=True", durable["ours"], _STYLE["ours"][1]),
    ]
    bars += [
        (f"{_STYLE[a][0].split()[0]} {'SQLiteSession' if a == 'openai' else 'SqliteSaver'}", v, _STYLE[a][1])
        for a, v in durable["anchors"].items()
    ]
    if fast:
        bars.append(("ours, fsync=False", fast["ours"], "#aec7e8"))
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.barh([b[0] for b in bars], [b[1] for b in bars], color=[b[2] for b in bars])
    ax.set_xscale("log")
    ax.set_xlim(left=100)
    ax.set_xlabel("single appends per second (append + flush), log scale")
    ax.set_title("Single appends against the raw disk and the anchors")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    _save(fig, directory, "appends")


def main() -> None:
    results = json.loads(Path(sys.argv[1]).read_text())
    directory = Path(sys.argv[2])
    directory.mkdir(parents=True, exist_ok=True)
    for plot in (list_vs_threads, cold_home, appends):
        plot(results, directory)


if __name__ == "__main__":
    main()
