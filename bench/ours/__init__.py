"""Our side of the benchmark: workloads on the local store, run in the project's environment.

``python -m bench.ours WORKLOAD PARAMS_JSON`` runs one workload and prints its result (see
:mod:`bench.measure`); :func:`run` does the same in-process (the smoke test uses it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from . import agents, appends, claude_store, listing, pages, remote, threads

__all__ = ["WORKLOADS", "run"]


def _cold(p: dict[str, Any]) -> Awaitable[dict[str, Any]]:
    home = Path(p["home"])
    rare, _ = threads.search_terms(home.name, p["count"])
    return listing.cold_home(home, rare_term=rare, runs=p.get("runs", 2))


WORKLOADS: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "append_durable": lambda p: appends.append_durable(Path(p["work"]), p["count"]),
    "append_fast": lambda p: appends.append_fast(Path(p["work"]), p["count"]),
    "append_batch": lambda p: appends.append_batch(Path(p["work"]), p["batches"], p["batch_size"]),
    "prepare_home": lambda p: listing.prepare_home(Path(p["home"]), p["count"], heavy=p["heavy"], index=p["index"]),
    "list": lambda p: listing.list_pages(Path(p["home"]), deep=p.get("deep", False)),
    "cold": _cold,
    "read": lambda p: threads.read_long(Path(p["work"]), p["count"]),
    "pages": lambda p: pages.pages(Path(p["work"]), p["count"]),
    "fork": lambda p: threads.fork_long(Path(p["work"]), p["count"]),
    "storage": lambda p: threads.storage(Path(p["work"]), p["count"]),
    "search": lambda p: threads.search(Path(p["home"]), Path(p["home"]).name, p["count"]),
    "remote": lambda p: remote.remote_writers(Path(p["work"]), p["writers"], p["appends"]),
    "agents_turns": agents.agents_turns,
    "agents_tail": agents.agents_tail,
    "claude_store": lambda p: claude_store.claude_store(Path(p["work"]), p["turns"]),
}


async def run(workload: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run one workload in this process and return its metrics."""
    return await WORKLOADS[workload](params)
