"""The conformance kit (``threadstore.testing``) over every backend of this package: memory,
local, PostgreSQL (directly and through PgBouncer in transaction mode), and a real gRPC server in
front of memory, local and PostgreSQL."""

from __future__ import annotations

from threadstore.testing import Capabilities, ConformanceSuite, url_backend
from threadstore.testing._backends import LocalBackend, MemoryBackend, remote_over

from .postgres_backends import PgBouncerBackend, PostgresBackend


class TestMemory(ConformanceSuite):
    backend_class = MemoryBackend


class TestLocal(ConformanceSuite):
    backend_class = LocalBackend


class TestLocalOnItsOwnThread(ConformanceSuite):
    """The local store as servers open it: on a thread of its own, syncing off its loop."""

    backend_class = url_backend(
        "local:{tmp}/home",
        name="local-offloaded",
        capabilities=Capabilities(rollout_files=True),
        options={"offload": True, "fsync": True},
    )


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
