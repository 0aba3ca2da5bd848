"""Settings shared by the whole suite: hypothesis profiles, and the throwaway PostgreSQL server
with its per-test databases.

Hypothesis: ``ci`` (the default) keeps every property suite to a few seconds;
``THREADSTORE_HYPOTHESIS=deep`` runs thousands of examples each (minutes), for a longer hunt.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from .postgres_server import PostgresServer, shared_server, stop_shared_server

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("THREADSTORE_HYPOTHESIS", "ci"))


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
