"""The backends the conformance suite runs against.

Each backend is a :class:`Backend`: it owns one storage location for the duration of a test and
opens store instances over it. ``open()`` may be called several times; for durable backends every
store it returns sees the same threads (that is how tests check what survives a reopen).
To add a backend, write a ``Backend`` subclass and add it to :data:`BACKENDS`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from pathlib import Path

from threadstore import InMemoryThreadStore, ThreadStore


class Backend(abc.ABC):
    name: str = ""
    #: Stores opened later see what earlier ones made durable.
    durable: bool = True
    #: Threads live in files that can be read by path.
    has_files: bool = False

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self._opened: list[ThreadStore] = []

    async def open(self) -> ThreadStore:
        store = await self._open()
        self._opened.append(store)
        return store

    @abc.abstractmethod
    async def _open(self) -> ThreadStore: ...

    async def aclose(self) -> None:
        for store in reversed(self._opened):
            await store.close()


class MemoryBackend(Backend):
    name = "memory"
    durable = False

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self._store = InMemoryThreadStore()

    async def _open(self) -> ThreadStore:
        # One process-local store: "reopening" returns the same object.
        return self._store

    async def aclose(self) -> None:
        await self._store.close()


class LocalBackend(Backend):
    name = "local"
    has_files = True

    async def _open(self) -> ThreadStore:
        from threadstore.store.local import LocalThreadStore

        return LocalThreadStore(self.tmp_path / "home", collect_git_info=False)


BACKENDS: dict[str, Callable[[Path], Backend]] = {"memory": MemoryBackend, "local": LocalBackend}


import subprocess  # noqa: E402  (kept with the backend that needs it)


class RemoteBackend(Backend):
    """A real ``threadstore serve --store memory:`` process on loopback; ``open()`` returns
    :class:`~threadstore.remote.RemoteThreadStore` clients of it. The server keeps its state
    while it runs, so every client sees what earlier ones stored."""

    name = "remote"
    durable = True
    has_files = False

    #: The store the server runs.
    store_url = "memory:"

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self._process: subprocess.Popen[str] | None = None
        self.url = ""

    def _start(self) -> None:
        import sys

        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "threadstore.server",
                "--listen",
                "127.0.0.1:0",
                "--store",
                self.store_url,
                "--quiet",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._process = process
        assert process.stdout is not None
        line = process.stdout.readline()  # "listening on HOST:PORT" once it accepts connections
        if not line.startswith("listening on "):
            process.kill()
            process.wait()
            raise RuntimeError(f"threadstore server did not start: {line!r}")
        self.url = f"grpc://{line.split()[-1]}"

    async def _open(self) -> ThreadStore:
        from threadstore.remote import RemoteThreadStore

        if self._process is None:
            self._start()
        return RemoteThreadStore(self.url, timeout=30)

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            process, self._process = self._process, None
            if process is not None:
                process.kill()
                process.wait()
                if process.stdout is not None:
                    process.stdout.close()


BACKENDS["remote"] = RemoteBackend


class PostgresBackend(Backend):
    """A database of its own on the session's throwaway PostgreSQL server; every store opened
    is a new :class:`~threadstore.store.postgres.PostgresThreadStore` (its own pool and lease
    holder, like another process) over that database."""

    name = "postgres"
    durable = True
    has_files = False

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        from ..postgres_server import shared_server

        self._server = shared_server()
        self.dsn = self._server.create_database()

    async def _open(self) -> ThreadStore:
        from threadstore.store.postgres import PostgresThreadStore

        return PostgresThreadStore(self.dsn, pool_size=4)

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            self._server.drop_database(self.dsn)


BACKENDS["postgres"] = PostgresBackend


class PgBouncerBackend(PostgresBackend):
    """The PostgreSQL store through PgBouncer in transaction mode (two server connections per
    database): consecutive transactions of one store run on different server connections."""

    name = "postgres-pgbouncer"

    async def _open(self) -> ThreadStore:
        from threadstore.store.postgres import PostgresThreadStore

        from ..postgres_server import shared_pgbouncer

        return PostgresThreadStore(shared_pgbouncer().dsn(self.dsn), pool_size=4)


BACKENDS["postgres-pgbouncer"] = PgBouncerBackend


class RemotePostgresBackend(RemoteBackend):
    """A real ``threadstore serve --store postgresql://...`` process over a database of its own."""

    name = "remote-postgres"

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        from ..postgres_server import shared_server

        self._server = shared_server()
        self.store_url = self._server.create_database()

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            self._server.drop_database(self.store_url)


BACKENDS["remote-postgres"] = RemotePostgresBackend
