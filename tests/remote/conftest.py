from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from threadstore import InMemoryThreadStore, ThreadStore
from threadstore._backends.remote import RemoteThreadStore
from threadstore._server import RunningServer, start_server

ClientFactory = Callable[[], RemoteThreadStore]


@pytest.fixture
async def backing_store() -> InMemoryThreadStore:
    return InMemoryThreadStore()


@pytest.fixture
async def server(backing_store: ThreadStore) -> AsyncIterator[RunningServer]:
    running = await start_server("127.0.0.1:0", backing_store)
    try:
        yield running
    finally:
        await running.stop(grace=1)


@pytest.fixture
async def client_factory(server: RunningServer) -> AsyncIterator[ClientFactory]:
    clients: list[RemoteThreadStore] = []

    def make() -> RemoteThreadStore:
        client = RemoteThreadStore(server.url)
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            await client.close()


@pytest.fixture
async def client(client_factory: ClientFactory) -> RemoteThreadStore:
    return client_factory()


@pytest.fixture
def server_address() -> Iterator[str]:
    """A server in its own process (for synchronous tests)."""
    from .server_process import serve_process

    with serve_process() as address:
        yield address
