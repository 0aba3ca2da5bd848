"""The backends of this package, as the conformance suite runs them.

:class:`RemoteBackend` wraps any other backend: it serves a store of it with a real gRPC server
on loopback and hands out :class:`~threadstore._backends.remote.RemoteThreadStore` clients, so the suite
checks the wire and the server as well as the store behind them. Backend authors can use it to
run the suite against ``threadstore serve`` over their own store.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from threadstore._backends.memory.store import InMemoryThreadStore
from threadstore._contract.base import ThreadStore
from threadstore.testing._backend import Backend, Capabilities

if TYPE_CHECKING:
    from threadstore._server.app import RunningServer

__all__ = ["LocalBackend", "MemoryBackend", "RemoteBackend", "remote_over"]


class MemoryBackend(Backend):
    """One :class:`~threadstore.InMemoryThreadStore`: every ``open()`` returns it."""

    name = "memory"
    capabilities = Capabilities(durable=False)

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self._store = InMemoryThreadStore()

    async def _open(self) -> ThreadStore:
        return self._store

    async def aclose(self) -> None:
        await self._store.close()


class LocalBackend(Backend):
    """:class:`~threadstore.LocalThreadStore` objects over one home directory."""

    name = "local"
    capabilities = Capabilities(rollout_files=True)

    async def _open(self) -> ThreadStore:
        from threadstore._backends.local import LocalThreadStore

        return LocalThreadStore(self.tmp_path / "home")


class RemoteBackend(Backend):
    """Clients of a gRPC server (started on first use, on this event loop) that serves a store of
    :attr:`inner`."""

    inner: ClassVar[type[Backend]] = MemoryBackend
    capabilities = Capabilities(durable=True, rollout_files=False)

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self._inner = self.inner(tmp_path / "server")
        self._served: ThreadStore | None = None
        self._server: RunningServer | None = None

    async def _open(self) -> ThreadStore:
        from threadstore._backends.remote import RemoteThreadStore
        from threadstore._server import start_server

        if self._server is None:
            self._served = await self._inner.open()
            self._server = await start_server("127.0.0.1:0", self._served)
        return RemoteThreadStore(self._server.url, timeout=30)

    def serving_store(self, store: ThreadStore) -> ThreadStore:
        assert self._served is not None, "no server yet"
        return self._inner.serving_store(self._served)

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            server, self._server = self._server, None
            if server is not None:
                await server.stop(grace=1, close_store=False)
            await self._inner.aclose()


def remote_over(inner: type[Backend]) -> type[RemoteBackend]:
    """A :class:`RemoteBackend` whose server runs a store of ``inner``."""
    return type(
        f"RemoteOver{inner.__name__}",
        (RemoteBackend,),
        {"inner": inner, "name": f"remote-{inner.name}", "__module__": __name__},
    )
