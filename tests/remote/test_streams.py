"""One connection has at most ``max_streams`` calls open on the server: its further calls wait in
the client (HTTP/2 flow control), nothing is refused, and every call is answered in the end."""

from __future__ import annotations

import asyncio

from threadstore import InMemoryThreadStore, ReadThreadParams, StoredThread
from threadstore._backends.remote import RemoteThreadStore
from threadstore._server import start_server
from threadstore._server.limits import ServerLimits
from threadstore.testing import new_thread


class _Gated(InMemoryThreadStore):
    """Reads wait for :attr:`gate`; :attr:`most` is the most that waited at once."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = 0
        self.most = 0

    async def _read_thread(self, params: ReadThreadParams) -> StoredThread:
        self.waiting += 1
        self.most = max(self.most, self.waiting)
        try:
            await self.gate.wait()
        finally:
            self.waiting -= 1
        return await super()._read_thread(params)


async def test_a_connection_has_at_most_max_streams_calls_open() -> None:
    store = _Gated()
    store.gate.set()
    thread_id = await new_thread(store)
    store.gate.clear()
    server = await start_server("127.0.0.1:0", store, limits=ServerLimits(max_streams=2))
    client = RemoteThreadStore(server.url, timeout=60)
    try:
        calls = [asyncio.create_task(client.read_thread(ReadThreadParams(thread_id))) for _ in range(6)]
        for _ in range(100):
            if store.waiting == 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # room for a third call to arrive, were it allowed
        assert store.most == 2
        store.gate.set()
        assert all(t.thread_id == thread_id for t in await asyncio.gather(*calls))
    finally:
        await client.close()
        await server.stop(grace=1)
