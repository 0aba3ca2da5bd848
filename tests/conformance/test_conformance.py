"""The conformance kit (``threadstore.testing``) over every backend of this package: memory,
local, and a real gRPC server in front of each."""

from __future__ import annotations

from threadstore.testing import ConformanceSuite
from threadstore.testing.backends import LocalBackend, MemoryBackend, remote_over


class TestMemory(ConformanceSuite):
    backend_class = MemoryBackend


class TestLocal(ConformanceSuite):
    backend_class = LocalBackend


class TestRemoteOverMemory(ConformanceSuite):
    backend_class = remote_over(MemoryBackend)


class TestRemoteOverLocal(ConformanceSuite):
    backend_class = remote_over(LocalBackend)
