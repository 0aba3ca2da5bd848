"""OpenAI Agents SDK: ``SQLiteSession`` on a file database (WAL, as the SDK configures it).

The SDK has no list API (no catalogue of sessions), no fork and no search, so it is the anchor
for appends, reads and storage only. Items are its own input shape, ``{"role", "content"}``.
The Agents workloads (``turns``, ``tail``: :mod:`bench.agents_session`) also run
``SQLAlchemySession`` on PostgreSQL (asyncpg) when given a DSN.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from agents import SQLiteSession

from ..agents_session import tail_ms, turns_ms
from ..corpus import item_pairs, message_text
from ..measure import time_async
from . import runner_main

MESSAGE = message_text("append")


def _db_bytes(path: Path) -> int:
    return sum(os.path.getsize(p) for p in path.parent.glob(path.name + "*"))


def append(p: dict[str, Any]) -> dict[str, Any]:
    """``add_items([one item])`` ``single`` times (each a committed, synced transaction), then
    ``add_items(batch)`` ``batches`` times."""

    async def go() -> dict[str, Any]:
        work = Path(p["work"])
        work.mkdir(parents=True, exist_ok=True)
        session = SQLiteSession("single", work / "openai-append.db")
        item: Any = {"role": "assistant", "content": MESSAGE}
        await session.add_items([item])
        started = time.perf_counter()
        for _ in range(p["single"]):
            await session.add_items([item])
        single = p["single"] / (time.perf_counter() - started)
        batch: list[Any] = [
            {"role": "user" if i % 2 == 0 else "assistant", "content": MESSAGE} for i in range(p["batch_size"])
        ]
        batched = SQLiteSession("batched", work / "openai-append.db")
        started = time.perf_counter()
        for _ in range(p["batches"]):
            await batched.add_items(batch)
        rate = p["batches"] * p["batch_size"] / (time.perf_counter() - started)
        session.close()
        batched.close()
        return {"single_per_s": single, "batch_items_per_s": rate}

    return asyncio.run(go())


async def _long(work: Path, count: int) -> tuple[SQLiteSession, Path, int]:
    path = work / f"openai-long-{count}.db"
    session = SQLiteSession("long", path)
    messages: list[Any] = [{"role": role, "content": text} for role, text in item_pairs(count)]
    for start in range(0, count, 100):
        await session.add_items(messages[start : start + 100])
    return session, path, sum(len(json.dumps(m, separators=(",", ":"))) for m in messages)


def read(p: dict[str, Any]) -> dict[str, Any]:
    """``get_items()`` of a ``count``-item session (the whole history), and its last 50."""

    async def go() -> dict[str, Any]:
        work = Path(p["work"])
        work.mkdir(parents=True, exist_ok=True)
        session, _, _ = await _long(work, p["count"])

        async def full() -> None:
            assert len(await session.get_items()) == p["count"]

        async def tail() -> None:
            await session.get_items(limit=50)

        result = {
            "get_items_ms": await time_async(full, runs=7) * 1e3,
            "tail50_ms": await time_async(tail, runs=20) * 1e3,
        }
        session.close()
        return result

    return asyncio.run(go())


def storage(p: dict[str, Any]) -> dict[str, Any]:
    """Database bytes (with WAL) per byte of the items' JSON."""
    work = Path(p["work"])
    work.mkdir(parents=True, exist_ok=True)
    session, path, payload = asyncio.run(_long(work, p["count"]))
    session.close()
    return {"payload_bytes": payload, "ratio": _db_bytes(path) / payload}


def _session(p: dict[str, Any], name: str) -> Any:
    """``SQLiteSession`` on a file (WAL), or ``SQLAlchemySession`` on PostgreSQL (asyncpg) when
    ``p`` names a DSN."""
    if p.get("dsn"):
        from agents.extensions.memory.sqlalchemy_session import SQLAlchemySession

        url = "postgresql+asyncpg://" + p["dsn"].split("://", 1)[1]
        return SQLAlchemySession.from_url(name, url=url, create_tables=True)
    work = Path(p["work"])
    work.mkdir(parents=True, exist_ok=True)
    return SQLiteSession(name, work / f"openai-{name}.db")


def turns(p: dict[str, Any]) -> dict[str, Any]:
    """An Agents turn (:mod:`bench.agents_session`), median of ``count``."""

    async def go() -> dict[str, Any]:
        session = _session(p, "bench-turns")
        return {"turn_ms": await turns_ms(session, p["count"])}

    return asyncio.run(go())


def tail(p: dict[str, Any]) -> dict[str, Any]:
    """``get_items(limit=50)`` on a ``count``-item session."""

    async def go() -> dict[str, Any]:
        session = _session(p, "bench-tail")
        return {"tail50_ms": await tail_ms(session, p["count"], p.get("shape", "turns"))}

    return asyncio.run(go())


WORKLOADS = {"append": append, "read": read, "storage": storage, "turns": turns, "tail": tail}


def _self_test(tmp: Path) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("append", {"work": str(tmp), "single": 20, "batches": 5, "batch_size": 10}),
        ("read", {"work": str(tmp), "count": 200}),
        ("storage", {"work": str(tmp), "count": 100}),
        ("turns", {"work": str(tmp), "count": 5}),
        ("tail", {"work": str(tmp), "count": 200}),
    ]


if __name__ == "__main__":
    runner_main(WORKLOADS, _self_test)
