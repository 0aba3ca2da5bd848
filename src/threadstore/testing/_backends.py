"""Backends the conformance suite runs, opened by store URL through the backend registry.

:func:`url_backend` makes a :class:`Backend` of any URL the registry knows (this package's
schemes, and any an installed package adds through the ``threadstore.backends`` entry points):
``url_backend("myscheme:{tmp}/db")``, where ``{tmp}`` is the test's own directory.
:class:`MemoryBackend` and :class:`LocalBackend` are this package's in-process backends.

:class:`RemoteBackend` wraps any other backend: it serves a store of it with a real gRPC server
on loopback and hands out ``grpc://`` clients, so the suite checks the wire and the server as
well as the store behind them (:func:`remote_over`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from threadstore._backends.registry import backends, open_store
from threadstore._contract.base import ThreadStore
from threadstore.testing._backend import Backend, Capabilities

if TYPE_CHECKING:
    from threadstore._server.app import RunningServer

__all__ = ["LocalBackend", "MemoryBackend", "RemoteBackend", "UrlBackend", "remote_over", "schemes", "url_backend"]


def schemes() -> list[str]:
    """The URL schemes the backend registry knows here (built in, and installed packages')."""
    return sorted(backends())


class UrlBackend(Backend):
    """Stores opened by :attr:`url` (``{tmp}`` stands for the test's directory) with the
    keyword :attr:`options`. A durable backend opens a new store each time; a backend that is not
    durable hands out its first store again (a new one would be empty)."""

    url: ClassVar[str] = ""
    options: ClassVar[dict[str, Any]] = {}

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self._first: ThreadStore | None = None

    async def _open(self) -> ThreadStore:
        if self._first is not None and not self.capabilities.durable:
            return self._first
        store = open_store(self.url.format(tmp=self.tmp_path), **self.options)
        self._first = self._first or store
        return store

    async def aclose(self) -> None:
        if self._first is not None and not self.capabilities.durable:
            self._opened = [self._first]
        await super().aclose()


def url_backend(
    url: str, *, name: str | None = None, capabilities: Capabilities | None = None, options: dict[str, Any] | None = None
) -> type[UrlBackend]:
    """A :class:`UrlBackend` class for ``url`` opened with ``options`` (see there), named after
    its scheme unless ``name`` is given."""
    scheme = url.partition(":")[0].lower()
    return type(
        f"UrlBackend_{scheme}",
        (UrlBackend,),
        {
            "url": url,
            "name": name or scheme,
            "capabilities": capabilities or Capabilities(),
            "options": dict(options or {}),
            "__module__": __name__,
        },
    )


class MemoryBackend(UrlBackend):
    """One in-memory store (``memory:``): every ``open()`` returns it."""

    name = "memory"
    url = "memory:"
    capabilities = Capabilities(durable=False)


class LocalBackend(UrlBackend):
    """Local stores (``local:PATH``) over one home directory."""

    name = "local"
    url = "local:{tmp}/home"
    capabilities = Capabilities(rollout_files=True)


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
        from threadstore._server import start_server

        if self._server is None:
            self._served = await self._inner.open()
            self._server = await start_server("127.0.0.1:0", self._served)
        return open_store(self._server.url, timeout=30)

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
