"""The PostgreSQL backends of the conformance suite, on the test session's throwaway server
(:mod:`tests.postgres_server`): the store itself, and the store through PgBouncer in transaction
mode."""

from __future__ import annotations

from pathlib import Path

from threadstore import ThreadStore
from threadstore.testing import Backend, Capabilities

from ..postgres_server import pgbouncer_for_new_database, shared_pgbouncer, shared_server


class PostgresBackend(Backend):
    """A database of its own; every store opened is a new
    :class:`~threadstore._backends.postgres.PostgresThreadStore` (its own pool and lease holder, like
    another process) over that database."""

    name = "postgres"
    capabilities = Capabilities(durable=True, rollout_files=False)

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self._server = shared_server()
        self.dsn = self._server.create_database()

    def _dsn(self) -> str:
        return self.dsn

    async def _open(self) -> ThreadStore:
        from threadstore._backends.postgres import PostgresThreadStore

        return PostgresThreadStore(self._dsn(), pool_size=4)

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            self._server.drop_database(self.dsn)


class PgBouncerBackend(PostgresBackend):
    """Through PgBouncer in transaction mode (two server connections per database): consecutive
    transactions of one store run on different server connections."""

    name = "postgres-pgbouncer"

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        pgbouncer_for_new_database()

    def _dsn(self) -> str:
        return shared_pgbouncer().dsn(self.dsn)
