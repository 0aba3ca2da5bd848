"""Claude Agent SDK: the module functions over a Claude Code session folder.

``list_sessions(directory, limit, offset)`` reads the head and tail of every session file and
sorts them by modification time, whatever the page; ``get_session_messages`` parses a whole
transcript and walks its ``parentUuid`` chain; ``fork_session`` copies a transcript with fresh
UUIDs; ``InMemorySessionStore`` is the SDK's reference ``SessionStore`` (the only store it ships:
its PostgreSQL, Redis and S3 stores are examples in its repository, not in the package). The folder is written by :mod:`bench.claude_home` (``CLAUDE_CONFIG_DIR`` points the SDK
at it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..claude_home import long_session, mirrored_turn, project_dir, write_sessions
from ..measure import time_calls, time_once
from . import runner_main


def _configure(root: Path) -> Path:
    """Point the SDK at ``root/config`` and return the project directory."""
    os.environ["CLAUDE_CONFIG_DIR"] = str(root / "config")
    return root / "project"


def prepare_list(p: dict[str, Any]) -> dict[str, Any]:
    root = Path(p["root"])
    project = _configure(root)
    if project_dir(root / "config", project).exists():
        return {}
    write_sessions(root / "config", project, p["count"], dataset=p["dataset"])
    return {}


def list_page(p: dict[str, Any]) -> dict[str, Any]:
    """A page of 50 sessions: first call in a new process, warm, and (``deep``) page 100."""
    from claude_agent_sdk import list_sessions

    project = str(_configure(Path(p["root"])))

    def page(offset: int) -> None:
        found = list_sessions(directory=project, limit=50, offset=offset, include_worktrees=False)
        assert len(found) == 50, len(found)

    metrics = {"first_ms": time_once(lambda: page(0)) * 1e3}
    metrics["warm_ms"] = time_calls(lambda: page(0), runs=5, budget_s=p.get("budget_s", 5.0)) * 1e3
    if p.get("deep"):
        metrics["page100_ms"] = time_calls(lambda: page(4950), runs=3, budget_s=p.get("budget_s", 5.0)) * 1e3
    return metrics


def _long(p: dict[str, Any]) -> tuple[str, str, list[dict[str, str]]]:
    root = Path(p["root"])
    project = _configure(root)
    sid, messages = long_session(root / "config", project, p["count"])
    return sid, str(project), messages


def read(p: dict[str, Any]) -> dict[str, Any]:
    """``get_session_messages`` of a ``count``-message session."""
    from claude_agent_sdk import get_session_messages

    sid, project, _ = _long(p)

    def get() -> None:
        assert len(get_session_messages(sid, directory=project)) == p["count"]

    return {"get_session_messages_ms": time_calls(get, runs=7) * 1e3}


def fork(p: dict[str, Any]) -> dict[str, Any]:
    """``fork_session`` of a ``count``-message session (a full copy with fresh UUIDs)."""
    from claude_agent_sdk import fork_session

    sid, project, _ = _long(p)
    return {"fork_ms": time_calls(lambda: fork_session(sid, directory=project), runs=7) * 1e3}


def storage(p: dict[str, Any]) -> dict[str, Any]:
    """Transcript bytes per byte of the messages' JSON."""
    sid, _, messages = _long(p)
    path = project_dir(Path(p["root"]) / "config", Path(p["root"]) / "project") / f"{sid}.jsonl"
    payload = sum(len(json.dumps(m, separators=(",", ":"))) for m in messages)
    return {"payload_bytes": payload, "ratio": path.stat().st_size / payload}


def session_store(p: dict[str, Any]) -> dict[str, Any]:
    """The SDK's ``InMemorySessionStore`` fed the batches Claude Code mirrors: one turn's
    ``append`` while a session grows to ``turns`` turns (median), then ``load`` of it."""
    import asyncio
    import statistics
    import time

    from claude_agent_sdk import InMemorySessionStore, SessionKey

    sid = "0b7d2a52-5a43-4a29-9d7e-2f2c0d6b8f10"
    key: SessionKey = {"project_key": "-srv-bench-project", "session_id": sid}
    batches = [mirrored_turn(sid, "/srv/bench-project", n) for n in range(p["turns"])]

    async def main() -> dict[str, Any]:
        store = InMemorySessionStore()
        times = []
        for batch in batches:
            started = time.perf_counter()
            await store.append(key, batch)
            times.append(time.perf_counter() - started)
        loads = []
        for _ in range(7):
            started = time.perf_counter()
            loaded = await store.load(key)
            loads.append(time.perf_counter() - started)
        assert loaded is not None
        assert len(loaded) == sum(map(len, batches))
        return {"append_ms": statistics.median(times) * 1e3, "load_ms": statistics.median(loads) * 1e3}

    return asyncio.run(main())


WORKLOADS = {
    "prepare_list": prepare_list,
    "list": list_page,
    "read": read,
    "fork": fork,
    "storage": storage,
    "session_store": session_store,
}


def _self_test(tmp: Path) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("prepare_list", {"root": str(tmp / "list"), "count": 5000, "dataset": "t"}),
        ("list", {"root": str(tmp / "list"), "deep": True}),
        ("read", {"root": str(tmp / "read"), "count": 200}),
        ("fork", {"root": str(tmp / "fork"), "count": 200}),
        ("storage", {"root": str(tmp / "storage"), "count": 100}),
        ("session_store", {"turns": 20}),
    ]


if __name__ == "__main__":
    runner_main(WORKLOADS, _self_test)
