"""The remote (gRPC ``codex.thread_store.v1``) store: :class:`RemoteThreadStore`.

Needs the ``grpc`` extra (``grpcio`` and ``protobuf``).
"""

from __future__ import annotations

from .client import RemoteThreadStore

__all__ = ["RemoteThreadStore"]
