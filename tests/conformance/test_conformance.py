"""The conformance kit (``threadstore.testing``) over every backend of this package: memory,
local, PostgreSQL (directly and through PgBouncer in transaction mode), and a real gRPC server in
front of memory, local and PostgreSQL."""

from __future__ import annotations

from threadstore.testing import ConformanceSuite
from threadstore.testing._backends import LocalBackend, MemoryBackend, remote_over

from .postgres_backends import PgBouncerBackend, PostgresBackend


class TestMemory(ConformanceSuite):
    backend_class = MemoryBackend


class TestLocal(ConformanceSuite):
    backend_class = LocalBackend


class TestPostgres(ConformanceSuite):
    backend_class = PostgresBackend


class TestPostgresThroughPgBouncer(ConformanceSuite):
    backend_class = PgBouncerBackend


class TestRemoteOverMemory(ConformanceSuite):
    backend_class = remote_over(MemoryBackend)


class TestRemoteOverLocal(ConformanceSuite):
    backend_class = remote_over(LocalBackend)


class TestRemoteOverPostgres(ConformanceSuite):
    backend_class = remote_over(PostgresBackend)
