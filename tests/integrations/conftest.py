"""Stores for the integration tests: memory, local, PostgreSQL and a gRPC server, each given to
a test as a :class:`Target` (a store object for this event loop, and a URL any process or event
loop can open)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from agents import set_tracing_disabled

from threadstore import InMemoryThreadStore, LocalThreadStore, PostgresThreadStore, ThreadStore, open_store
from threadstore._server import start_server

set_tracing_disabled(True)

KINDS = ("memory", "local", "postgres", "server")


def plain(items: Sequence[Any]) -> list[dict[str, Any]]:
    """Session items as plain dicts (the SDK types them as a union of typed dicts)."""
    return [dict(item) for item in items]


@dataclass
class Target:
    kind: str
    store: ThreadStore
    url: str


class ServerThread:
    """A gRPC server (over a local store) running in an event loop of its own thread, so that
    sync code and other processes can use it."""

    def __init__(self, home: Path, idle_writer_timeout: float | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.store = LocalThreadStore(home)

        async def start() -> object:
            return await start_server("127.0.0.1:0", self.store, idle_writer_timeout=idle_writer_timeout)

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(30)
        self.url = f"grpc://{self.server.address}"  # type: ignore[attr-defined]

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(0.5), self.loop).result(30)  # type: ignore[attr-defined]
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def server_thread(tmp_path: Path) -> Iterator[ServerThread]:
    running = ServerThread(tmp_path / "served")
    try:
        yield running
    finally:
        running.stop()


def url_of(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A URL of a store of ``kind`` (the PostgreSQL database and the server come from fixtures)."""
    if kind == "memory":
        return "memory:"
    if kind == "local":
        return f"local:{tmp_path / 'home'}"
    if kind == "postgres":
        return str(request.getfixturevalue("postgres_dsn"))
    return str(request.getfixturevalue("server_thread").url)


@pytest_asyncio.fixture(params=KINDS)
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Target]:
    kind = str(request.param)
    url = url_of(kind, tmp_path, request)
    if kind == "memory":
        store: ThreadStore = InMemoryThreadStore()
    elif kind == "postgres":
        store = PostgresThreadStore(url)
    else:
        store = open_store(url)
    try:
        yield Target(kind, store, url)
    finally:
        await store.close()
