from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from threadstore._backends.postgres import PostgresThreadStore

StoreFactory = Callable[..., PostgresThreadStore]


@pytest.fixture
async def open_pg(postgres_dsn: str) -> AsyncIterator[StoreFactory]:
    """Open stores over the test's database (each like another process); all closed at the end."""
    stores: list[PostgresThreadStore] = []

    def make(**options: object) -> PostgresThreadStore:
        options.setdefault("pool_size", 4)
        store = PostgresThreadStore(postgres_dsn, **options)  # type: ignore[arg-type]
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
