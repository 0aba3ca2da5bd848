"""The workloads of ``python -m bench``: for each, ours and the anchors on the same data.

Each workload function runs its runners (one process each, see :mod:`bench.envs`) and adds rows
(:mod:`bench.report`) and peak memory to the :class:`Context`. Data sets are written once per run
into the run's work directory and shared by the workloads that need them (the 10,000-thread
listing home is also the search home).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .envs import RunnerResult, anchors_python, run_module
from .report import Row
from .workloads_claude import claude_store

__all__ = ["FULL", "QUICK", "WORKLOADS", "Context", "Sizes"]


@dataclass(frozen=True)
class Sizes:
    durable: int
    fast: int
    batches: int
    batch_size: int
    list_sizes: tuple[int, ...]
    cold: int
    cold_runs: int
    codex_runs: int
    long: int
    search: int
    storage: int
    remote_appends: int
    pages: int


FULL = Sizes(
    durable=1000,
    fast=5000,
    batches=300,
    batch_size=100,
    list_sizes=(1000, 10_000, 100_000),
    cold=20_000,
    cold_runs=3,
    codex_runs=5,
    long=10_000,
    search=10_000,
    storage=600,
    remote_appends=200,
    pages=100_000,
)
QUICK = Sizes(
    durable=50,
    fast=300,
    batches=20,
    batch_size=100,
    list_sizes=(1000, 6000),
    cold=1000,
    cold_runs=1,
    codex_runs=1,
    long=1000,
    search=1000,
    storage=100,
    remote_appends=20,
    pages=5000,
)

#: Page 100 of 50 needs at least this many threads.
_DEEP_MIN = 5000

_ANCHOR_MODULES = {
    "openai": "bench.anchors.openai_sessions",
    "langgraph": "bench.anchors.langgraph_saver",
    "claude": "bench.anchors.claude_sessions",
}


@dataclass
class Context:
    """One run: where its data lives, what it measured so far."""

    work: Path
    sizes: Sizes
    with_anchors: bool = True
    with_codex: bool = True
    rows: list[Row] = field(default_factory=list)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)
    _memo: dict[str, RunnerResult] = field(default_factory=dict)
    _started: float = field(default_factory=time.perf_counter)

    def log(self, message: str) -> None:
        print(f"[{time.perf_counter() - self._started:6.0f}s] {message}", file=sys.stderr, flush=True)

    def path(self, *parts: str) -> str:
        target = self.work.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return str(target)

    def _remember(self, memory: str | None, who: str, result: RunnerResult) -> None:
        if memory is not None:
            slot = self.memory.setdefault(memory, {})
            slot[who] = max(slot.get(who, 0.0), result.peak_rss_mb)

    def ours(self, workload: str, params: dict[str, Any], memory: str | None = None) -> dict[str, float]:
        self.log(f"ours {workload} {params.get('count', '')}")
        result = run_module(sys.executable, "bench.ours", [workload, json.dumps(params)])
        self._remember(memory, "ours", result)
        return result.metrics

    def anchor(self, name: str, workload: str, params: dict[str, Any], memory: str | None = None) -> dict[str, float]:
        """An anchor's result (memoized: the same call in two workloads runs once); empty when
        the run has no anchors."""
        if not self.with_anchors:
            return {}
        key = json.dumps([name, workload, params], sort_keys=True)
        if key not in self._memo:
            self.log(f"{name} {workload} {params.get('count', '')}")
            self._memo[key] = run_module(anchors_python(), _ANCHOR_MODULES[name], [workload, json.dumps(params)])
        result = self._memo[key]
        self._remember(memory, name, result)
        return result.metrics

    def codex(self, params: dict[str, Any], memory: str | None = None) -> dict[str, float]:
        if not self.with_codex:
            return {}
        self.log(f"codex 0.125.0 thread/list on {Path(params['home']).name}")
        result = run_module(sys.executable, "bench.codex_peer", [json.dumps(params)])
        if memory is not None:  # Codex's own peak, not that of the process driving it
            self.memory.setdefault(memory, {})["codex"] = result.metrics.get("codex_peak_rss_mb", 0.0)
        return result.metrics

    def add(
        self, key: str, measure: str, unit: str, ours: float, hardware: float | None = None, **anchors: float | None
    ) -> None:
        present = {name: value for name, value in anchors.items() if value is not None}
        self.rows.append(Row(key, measure, unit, ours, hardware, present))


def _openai_append(ctx: Context) -> dict[str, float]:
    s = ctx.sizes
    params = {"work": ctx.path("openai"), "single": s.durable, "batches": s.batches, "batch_size": s.batch_size}
    return ctx.anchor("openai", "append", params, memory="append")


def append_durable(ctx: Context) -> None:
    ours = ctx.ours("append_durable", {"work": ctx.path("append"), "count": ctx.sizes.durable}, memory="append")
    openai = _openai_append(ctx)
    langgraph = ctx.anchor(
        "langgraph", "append", {"work": ctx.path("langgraph"), "single": ctx.sizes.durable}, "append"
    )
    ctx.add(
        "append.durable",
        "durable single append (append + flush, fsync=True)",
        "appends/s",
        ours["ours_per_s"],
        ours["raw_per_s"],
        openai=openai.get("single_per_s"),
        langgraph=langgraph.get("single_per_s"),
    )
    ctx.add("append.durable.p50", "  its median latency", "ms", ours["ours_p50_ms"], ours["raw_p50_ms"])


def append_fast(ctx: Context) -> None:
    ours = ctx.ours("append_fast", {"work": ctx.path("append"), "count": ctx.sizes.fast}, memory="append")
    openai = _openai_append(ctx)
    ctx.add(
        "append.fast",
        "single append, fsync=False (append + flush)",
        "appends/s",
        ours["ours_per_s"],
        openai=openai.get("single_per_s"),
    )


def append_batch(ctx: Context) -> None:
    s = ctx.sizes
    ours = ctx.ours(
        "append_batch", {"work": ctx.path("append"), "batches": s.batches, "batch_size": s.batch_size}, "append"
    )
    openai = _openai_append(ctx)
    label = f"batched append ({s.batch_size} items a call, then flush)"
    ctx.add("append.batch.items", label, "items/s", ours["ours_items_per_s"], openai=openai.get("batch_items_per_s"))
    ctx.add(
        "append.batch.bandwidth", "  its bandwidth (items' JSON)", "MB/s", ours["ours_mb_per_s"], ours["raw_mb_per_s"]
    )


def _prepare_list_data(ctx: Context, count: int) -> tuple[str, str, str]:
    home = ctx.path("homes", f"list-{count}")
    prepared = ctx.ours("prepare_home", {"home": home, "count": count, "heavy": False, "index": True})
    if "index_s" in prepared:
        ctx.log(
            f"  home of {count:,} written in {prepared.get('write_s', 0):.1f}s, indexed in {prepared['index_s']:.1f}s"
        )
    claude = ctx.path("claude", f"list-{count}")
    db = ctx.path("langgraph", f"list-{count}.db")
    ctx.anchor("claude", "prepare_list", {"root": claude, "count": count, "dataset": f"list-{count}"})
    ctx.anchor("langgraph", "prepare_list", {"db": db, "count": count, "dataset": f"list-{count}"})
    return home, claude, db


def list_threads(ctx: Context) -> None:
    largest = max(ctx.sizes.list_sizes)
    series: dict[str, dict[str, float]] = {}
    for count in ctx.sizes.list_sizes:
        home, claude_root, db = _prepare_list_data(ctx, count)
        deep = count == largest and count >= _DEEP_MIN
        ours = ctx.ours("list", {"home": home, "deep": deep}, memory=f"list {count:,}")
        claude = ctx.anchor("claude", "list", {"root": claude_root, "deep": deep}, memory=f"list {count:,}")
        langgraph = ctx.anchor("langgraph", "list", {"db": db, "deep": deep}, memory=f"list {count:,}")
        n = f"{count:,} threads"
        ctx.add(
            f"list.{count}.first",
            f"page of 50 at {n}, first call of a new store",
            "ms",
            ours["first_ms"],
            claude=claude.get("first_ms"),
            langgraph=langgraph.get("first_ms"),
        )
        ctx.add(
            f"list.{count}.warm",
            f"page of 50 at {n}, warm",
            "ms",
            ours["warm_ms"],
            claude=claude.get("warm_ms"),
            langgraph=langgraph.get("warm_ms"),
        )
        if deep:
            ctx.add(
                f"list.{count}.page100",
                f"page 100 at {n}, warm",
                "ms",
                ours["page100_ms"],
                claude=claude.get("page100_ms"),
                langgraph=langgraph.get("page100_ms"),
            )
        for who, metrics in (("ours", ours), ("claude", claude), ("langgraph", langgraph)):
            for kind in ("first_ms", "warm_ms"):
                if kind in metrics:
                    series.setdefault(f"{who}.{kind}", {})[str(count)] = metrics[kind]
    ctx.series["list"] = series


def cold_home(ctx: Context) -> None:
    count = ctx.sizes.cold
    home = ctx.path("homes", f"cold-{count}")
    ctx.ours("prepare_home", {"home": home, "count": count, "heavy": True, "index": False})
    codex = ctx.codex({"home": home, "runs": ctx.sizes.codex_runs}, memory=f"cold home {count:,}")
    ours = ctx.ours("cold", {"home": home, "count": count, "runs": ctx.sizes.cold_runs}, memory=f"cold home {count:,}")
    n = f"{count:,}"
    ctx.add(
        f"cold.{count}.first",
        f"first page, never-indexed Codex home of {n}",
        "ms",
        ours["first_page_ms"],
        codex=codex.get("first_ms"),
    )
    ctx.add(f"cold.{count}.during", f"  a page while that home is being indexed ({n})", "ms", ours["during_ms"])
    ctx.add(f"cold.{count}.warm", f"warm page on that home ({n})", "ms", ours["warm_ms"], codex=codex.get("warm_ms"))
    ctx.add(f"cold.{count}.full_index", f"full index of that home ({n})", "s", ours["full_index_s"])
    ctx.add(f"cold.{count}.complete", "  with its trigram index built", "s", ours["complete_index_s"])
    if ours.get("workers_peak_rss_mb"):
        ctx.memory.setdefault(f"cold home {count:,} (index workers)", {})["ours"] = ours["workers_peak_rss_mb"]
    ctx.add(f"cold.{count}.rebuild", f"reindex() of that home ({n})", "s", ours["rebuild_s"])
    ctx.series["cold"] = {"count": count, "ours": ours, "codex": codex}


def _long_params(ctx: Context, name: str) -> dict[str, Any]:
    return {"work": ctx.path(name), "root": ctx.path(name, "claude"), "count": ctx.sizes.long}


def read_resume(ctx: Context) -> None:
    params = _long_params(ctx, "read")
    ours = ctx.ours("read", params, memory="read")
    openai = ctx.anchor("openai", "read", params, memory="read")
    claude = ctx.anchor("claude", "read", params, memory="read")
    langgraph = ctx.anchor("langgraph", "read", params, memory="read")
    theirs = {
        "openai": openai.get("get_items_ms"),
        "claude": claude.get("get_session_messages_ms"),
        "langgraph": langgraph.get("get_tuple_ms"),
    }
    n = f"{ctx.sizes.long:,}"
    ctx.add(
        f"read.{ctx.sizes.long}.load",
        f"read a {n}-item thread (load_history)",
        "ms",
        ours["load_history_ms"],
        ours["raw_parse_ms"],
        **theirs,
    )
    ctx.add(
        f"read.{ctx.sizes.long}.resume",
        "resume it (ThreadManager.resume_thread)",
        "ms",
        ours["resume_ms"],
        ours["raw_parse_ms"],
        **theirs,
    )


def fork(ctx: Context) -> None:
    params = _long_params(ctx, "fork")
    ours = ctx.ours("fork", params, memory="fork")
    claude = ctx.anchor("claude", "fork", params, memory="fork")
    ctx.add(
        f"fork.{ctx.sizes.long}",
        f"fork a {ctx.sizes.long:,}-item thread (ThreadManager.fork_thread)",
        "ms",
        ours["fork_ms"],
        claude=claude.get("fork_ms"),
    )


def search(ctx: Context) -> None:
    count = ctx.sizes.search
    home = ctx.path("homes", f"list-{count}")
    ctx.ours("prepare_home", {"home": home, "count": count, "heavy": False, "index": True})
    ours = ctx.ours("search", {"home": home, "count": count}, memory="search")
    n = f"{count:,}"
    ctx.add(f"search.{count}.rare", f"search at {n} threads, term in one thread", "ms", ours["rare_ms"])
    ctx.add(f"search.{count}.common", f"search at {n} threads, term in most", "ms", ours["common_ms"])
    ctx.add(f"search.{count}.first", f"search at {n} threads, first call of a new store", "ms", ours["first_ms"])


def storage(ctx: Context) -> None:
    count = ctx.sizes.storage
    params = {"work": ctx.path("storage"), "root": ctx.path("storage", "claude"), "count": count}
    ours = ctx.ours("storage", params, memory="storage")
    theirs = {
        name: ctx.anchor(name, "storage", params, memory="storage").get("ratio")
        for name in ("openai", "langgraph", "claude")
    }
    ctx.add(
        f"storage.{count}.home",
        f"bytes on disk per byte of items, {count}-item conversation (with index)",
        "x",
        ours["home_ratio"],
        **theirs,
    )
    ctx.add(f"storage.{count}.rollout", "  the rollout file alone", "x", ours["rollout_ratio"])
    big = ctx.ours("storage", {**params, "count": ctx.sizes.long})
    ctx.add(
        f"storage.{ctx.sizes.long}.long", f"  a {ctx.sizes.long:,}-item thread (with index)", "x", big["home_ratio"]
    )


def pages(ctx: Context) -> None:
    count = ctx.sizes.pages
    ours = ctx.ours("pages", {"work": ctx.path("pages"), "count": count}, memory="pages")
    n = f"{count:,}"
    ctx.add(
        f"pages.{count}.first",
        f"first page of 50 turns of a {n}-record thread (builds its index)",
        "ms",
        ours["first_page_ms"],
    )
    ctx.add(f"pages.{count}.page", "  a later page of 50 turns", "ms", ours["page_ms"])
    ctx.add(f"pages.{count}.items", "  a page of 50 items", "ms", ours["items_page_ms"])
    ctx.add(f"pages.{count}.after_append", "  the newest page after one more turn", "ms", ours["after_append_ms"])
    ctx.add(f"pages.{count}.load", "  the whole history (load_history), for comparison", "ms", ours["load_history_ms"])


def remote(ctx: Context) -> None:
    params = {"work": ctx.path("remote"), "writers": 16, "appends": ctx.sizes.remote_appends}
    ours = ctx.ours("remote", params, memory="remote")
    ctx.add("remote.round_trip", "remote store: one append + flush round trip", "ms", ours["remote_round_trip_ms"])
    ctx.add(
        "remote.writers",
        "remote store: 16 concurrent writers (append + flush)",
        "items/s",
        ours["remote_writers_items_per_s"],
    )
    ctx.add(
        "remote.local_writers", "  the same 16 writers on the local store", "items/s", ours["local_writers_items_per_s"]
    )


def agents(ctx: Context) -> None:
    """The OpenAI Agents SDK session workloads (:mod:`bench.agents_session`) on the local store,
    against ``SQLiteSession`` on a file (its PostgreSQL figures: ``python -m bench.postgres``)."""
    turns, long = (50, ctx.sizes.long)
    params = {"work": ctx.path("agents"), "count": turns}
    ours = ctx.ours("agents_turns", params, memory="agents")
    theirs = ctx.anchor("openai", "turns", {**params, "work": ctx.path("agents-openai")}, memory="agents")
    ctx.add(
        "agents.turn",
        f"Agents turn (get_items + add_items x2), {turns} turns, local vs SQLiteSession",
        "ms",
        ours["turn_ms"],
        openai=theirs.get("turn_ms"),
    )
    for shape, what in (("turns", "Runner turns"), ("messages", "messages only")):
        params = {"work": ctx.path("agents", shape), "count": long, "shape": shape}
        ours = ctx.ours("agents_tail", params, memory="agents")
        theirs = ctx.anchor("openai", "tail", {**params, "work": ctx.path("agents-openai", shape)}, memory="agents")
        ctx.add(
            f"agents.{long}.tail" + ("" if shape == "turns" else ".messages"),
            f"get_items(limit=50) of a {long:,}-item session ({what})",
            "ms",
            ours["tail50_ms"],
            openai=theirs.get("tail50_ms"),
        )


WORKLOADS: dict[str, Callable[[Context], None]] = {
    "append_durable": append_durable,
    "append_fast": append_fast,
    "append_batch": append_batch,
    "list": list_threads,
    "cold": cold_home,
    "read": read_resume,
    "fork": fork,
    "search": search,
    "storage": storage,
    "pages": pages,
    "remote": remote,
    "agents": agents,
    "claude_store": claude_store,
}
