"""Session-wide test infrastructure: the throwaway PostgreSQL server and its per-test databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .postgres_server import PostgresServer, shared_server, stop_shared_server


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    stop_shared_server()


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """The session's PostgreSQL server (started on first use, stopped at the end)."""
    return shared_server()


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database of its own for one test; dropped afterwards."""
    dsn = postgres_server.create_database()
    try:
        yield dsn
    finally:
        postgres_server.drop_database(dsn)
