"""LangGraph: ``SqliteSaver`` (``langgraph-checkpoint-sqlite``) on a file database.

LangGraph stores a full checkpoint of the graph state per super-step, so a conversation is
written as one ``put`` per step whose ``messages`` channel holds every message so far (the
default ``add_messages`` state). It has no thread list: the threads newest
first are found by walking ``list(None)`` (every checkpoint, newest first) and keeping distinct
thread ids, which is what its users do. Messages are ``{"role", "content"}`` dicts.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.sqlite import SqliteSaver

from ..corpus import item_pairs, message_text, turn
from ..measure import time_calls, time_once
from . import runner_main

MESSAGE = message_text("append")


def _saver(path: Path) -> SqliteSaver:
    saver = SqliteSaver(sqlite3.connect(path, check_same_thread=False))
    saver.setup()
    return saver


class _Conversation:
    """One thread written the way a graph writes it: a full checkpoint per step."""

    def __init__(self, saver: SqliteSaver, thread_id: str) -> None:
        self.saver = saver
        self.config: dict[str, Any] = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        self.messages: list[dict[str, Any]] = []
        self.version: str | None = None
        self.step = 0

    def step_with(self, new: list[dict[str, Any]]) -> None:
        self.messages = [*self.messages, *new]
        self.version = self.saver.get_next_version(self.version, None)
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"messages": self.messages}
        checkpoint["channel_versions"] = {"messages": self.version}
        metadata = {"source": "loop", "step": self.step, "parents": {}}
        self.config = self.saver.put(self.config, checkpoint, metadata, {"messages": self.version})
        self.step += 1


def _db_bytes(path: Path) -> int:
    return sum(os.path.getsize(p) for p in path.parent.glob(path.name + "*"))


def append(p: dict[str, Any]) -> dict[str, Any]:
    """``single`` steps that each add one message (one ``put`` each, committed)."""
    work = Path(p["work"])
    work.mkdir(parents=True, exist_ok=True)
    conversation = _Conversation(_saver(work / "langgraph-append.db"), "append")
    started = time.perf_counter()
    for _ in range(p["single"]):
        conversation.step_with([{"role": "assistant", "content": MESSAGE}])
    return {"single_per_s": p["single"] / (time.perf_counter() - started)}


def prepare_list(p: dict[str, Any]) -> dict[str, Any]:
    """``count`` threads of one turn each: an input step and an output step. The rows are the
    ones ``put`` writes (same serializer, same ids), inserted in one transaction per 5,000
    threads so that 100,000 threads take seconds."""
    path = Path(p["db"])
    if path.exists():
        return {}
    path.parent.mkdir(parents=True, exist_ok=True)
    saver = _saver(path)
    started = time.perf_counter()
    rows = []
    for n in range(p["count"]):
        texts = turn(f"{p['dataset']}/{n}")
        parent = None
        for step, messages in enumerate(
            (
                [{"role": "user", "content": texts.prompt}],
                [{"role": "user", "content": texts.prompt}, {"role": "assistant", "content": texts.answer}],
            )
        ):
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = {"messages": messages}
            checkpoint["channel_versions"] = {"messages": saver.get_next_version(None if step == 0 else "1", None)}
            checkpoint["id"] = str(uuid6(clock_seq=-2))
            kind, blob = saver.serde.dumps_typed(checkpoint)
            metadata = json.dumps({"source": "loop", "step": step, "parents": {}}).encode()
            rows.append((f"{p['dataset']}-{n}", "", checkpoint["id"], parent, kind, blob, metadata))
            parent = checkpoint["id"]
        if len(rows) >= 10_000 or n == p["count"] - 1:
            with saver.conn:
                saver.conn.executemany("INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            rows = []
    return {"write_s": time.perf_counter() - started}


def _newest_threads(saver: SqliteSaver, start: int, page: int) -> list[str]:
    seen: dict[str, None] = {}
    for item in saver.list(None):
        seen.setdefault(item.config["configurable"]["thread_id"], None)
        if len(seen) >= start + page:
            break
    return list(seen)[start:]


def list_threads(p: dict[str, Any]) -> dict[str, Any]:
    """The 50 newest threads: first call in a new process, warm, and (``deep``) page 100."""
    saver = SqliteSaver(sqlite3.connect(p["db"], check_same_thread=False))
    metrics = {"first_ms": time_once(lambda: _newest_threads(saver, 0, 50)) * 1e3}
    metrics["warm_ms"] = time_calls(lambda: _newest_threads(saver, 0, 50), runs=10) * 1e3
    if p.get("deep"):
        metrics["page100_ms"] = time_calls(lambda: _newest_threads(saver, 4950, 50), runs=5) * 1e3
    return metrics


def read(p: dict[str, Any]) -> dict[str, Any]:
    """``get_tuple`` (latest checkpoint) of a thread whose state holds ``count`` messages."""
    work = Path(p["work"])
    work.mkdir(parents=True, exist_ok=True)
    saver = _saver(work / f"langgraph-long-{p['count']}.db")
    conversation = _Conversation(saver, "long")
    conversation.step_with([{"role": role, "content": text} for role, text in item_pairs(p["count"])])
    config = {"configurable": {"thread_id": "long", "checkpoint_ns": ""}}

    def get() -> None:
        found = saver.get_tuple(config)
        assert found is not None
        assert len(found.checkpoint["channel_values"]["messages"]) == p["count"]

    return {"get_tuple_ms": time_calls(get, runs=7) * 1e3}


def storage(p: dict[str, Any]) -> dict[str, Any]:
    """Database bytes (with WAL) per byte of the messages' JSON, for a conversation of
    ``count`` messages written one turn (a user and an assistant message) per step."""
    work = Path(p["work"])
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"langgraph-storage-{p['count']}.db"
    conversation = _Conversation(_saver(path), "storage")
    messages = [{"role": role, "content": text} for role, text in item_pairs(p["count"])]
    for start in range(0, len(messages), 2):
        conversation.step_with(messages[start : start + 2])
    payload = sum(len(json.dumps(m, separators=(",", ":"))) for m in messages)
    return {"payload_bytes": payload, "ratio": _db_bytes(path) / payload}


WORKLOADS = {
    "append": append,
    "prepare_list": prepare_list,
    "list": list_threads,
    "read": read,
    "storage": storage,
}


def _self_test(tmp: Path) -> list[tuple[str, dict[str, Any]]]:
    db = str(tmp / "list.db")
    return [
        ("append", {"work": str(tmp), "single": 20}),
        ("prepare_list", {"db": db, "count": 5100, "dataset": "t"}),
        ("list", {"db": db, "deep": True}),
        ("read", {"work": str(tmp), "count": 200}),
        ("storage", {"work": str(tmp), "count": 100}),
    ]


if __name__ == "__main__":
    runner_main(WORKLOADS, _self_test)
