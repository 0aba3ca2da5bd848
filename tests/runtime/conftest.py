"""Fixtures of the runtime tests: store factories (in-memory, and local once it exists)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from threadstore import InMemoryThreadStore, ThreadStore
from threadstore._backends.local import LocalThreadStore

StoreFactory = Callable[[], ThreadStore]


@pytest.fixture(params=["memory", "local"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_store(store_kind: str, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """Opens stores over one storage location (the same object for the in-memory store)."""
    opened: list[ThreadStore] = []
    memory = InMemoryThreadStore()

    def factory() -> ThreadStore:
        if store_kind == "memory":
            return memory
        store: ThreadStore = LocalThreadStore(home=tmp_path / "home")
        opened.append(store)
        return store

    try:
        yield factory
    finally:
        for store in reversed(opened):
            await store.close()
        await memory.close()


@pytest.fixture
def store(make_store: StoreFactory) -> ThreadStore:
    return make_store()


@pytest.fixture
def cwd(tmp_path: Path) -> str:
    path = tmp_path / "work"
    path.mkdir()
    return str(path)
