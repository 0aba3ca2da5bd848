"""Our side of the Agents SDK workloads (:mod:`bench.agents_session`): ``ThreadSession`` on a
store object of the run's event loop (local, or PostgreSQL when given a DSN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from threadstore import LocalThreadStore, PostgresThreadStore, ThreadStore
from threadstore.integrations.openai_agents import ThreadSession

from ..agents_session import tail_ms, turns_ms

__all__ = ["agents_tail", "agents_turns"]


def _store(p: dict[str, Any]) -> ThreadStore:
    if p.get("dsn"):
        return PostgresThreadStore(p["dsn"])
    return LocalThreadStore(Path(p["work"]) / "agents-home")


async def agents_turns(p: dict[str, Any]) -> dict[str, Any]:
    async with _store(p) as store:
        return {"turn_ms": await turns_ms(ThreadSession("bench-turns", store, cwd="/bench"), p["count"])}


async def agents_tail(p: dict[str, Any]) -> dict[str, Any]:
    async with _store(p) as store:
        shape = p.get("shape", "turns")
        return {"tail50_ms": await tail_ms(ThreadSession("bench-tail", store, cwd="/bench"), p["count"], shape)}
