from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, TypedDict, Unpack

import pytest

from threadstore._backends.postgres import PostgresThreadStore


class StoreOptions(TypedDict, total=False):
    """The keyword options of :class:`PostgresThreadStore`."""

    pool_size: int
    lease_ttl: float
    retry_for: float
    connect_timeout: float | None
    max_item_bytes: int


class StoreFactory(Protocol):
    def __call__(self, **options: Unpack[StoreOptions]) -> PostgresThreadStore: ...


@pytest.fixture
async def open_pg(postgres_dsn: str) -> AsyncIterator[StoreFactory]:
    """Open stores over the test's database (each like another process); all closed at the end."""
    stores: list[PostgresThreadStore] = []

    def make(**options: Unpack[StoreOptions]) -> PostgresThreadStore:
        options.setdefault("pool_size", 4)
        store = PostgresThreadStore(postgres_dsn, **options)
        stores.append(store)
        return store

    try:
        yield make
    finally:
        for store in reversed(stores):
            await store.close()


@pytest.fixture
async def pg_store(open_pg: StoreFactory) -> PostgresThreadStore:
    return open_pg()
