"""Backends for the Claude Agent SDK adapter's tests: memory, local, PostgreSQL, and a gRPC
server in front of memory and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from threadstore import ListThreadsParams, ThreadStore
from threadstore.testing import Backend
from threadstore.testing._backends import LocalBackend, MemoryBackend, remote_over

from ..conformance.postgres_backends import PostgresBackend

BACKENDS: dict[str, type[Backend]] = {
    "memory": MemoryBackend,
    "local": LocalBackend,
    "postgres": PostgresBackend,
    "remote-memory": remote_over(MemoryBackend),
    "remote-postgres": remote_over(PostgresBackend),
}


@pytest.fixture(params=sorted(BACKENDS))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ThreadStore]:
    """A store of each backend (closed, and its server stopped, afterwards)."""
    backend = BACKENDS[request.param](tmp_path)
    try:
        yield await backend.open()
    finally:
        await backend.aclose()


async def wipe(store: ThreadStore) -> None:
    """Delete every thread of ``store`` (active and archived): the store is as new."""
    for archived in (False, True):
        while True:
            page = await store.list_threads(ListThreadsParams(page_size=1000, archived=archived))
            if not page.items:
                break
            for thread in page.items:
                await store.delete_thread(thread.thread_id)
