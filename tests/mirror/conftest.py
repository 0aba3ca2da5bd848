"""The targets every mirror test runs against: memory, a local home, PostgreSQL, and a server
(``threadstore serve`` in process) over PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from threadstore import ThreadStore
from threadstore._backends.registry import open_store
from threadstore._server.app import start_server

from ..postgres_server import PostgresServer


@pytest.fixture(params=["memory", "local", "postgres", "server"])
async def target(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: PostgresServer
) -> AsyncIterator[ThreadStore]:
    """A fresh target store of each kind."""
    kind = request.param
    if kind in ("memory", "local"):
        store = open_store("memory:" if kind == "memory" else f"local:{tmp_path / 'target'}")
        yield store
        await store.close()
        return
    dsn = postgres_server.create_database()
    try:
        if kind == "postgres":
            store = open_store(dsn)
            yield store
            await store.close()
        else:
            running = await start_server("127.0.0.1:0", open_store(dsn))
            store = open_store(running.url)
            yield store
            await store.close()
            await running.stop()
    finally:
        postgres_server.drop_database(dsn)
