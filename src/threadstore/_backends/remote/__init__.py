"""The remote (gRPC ``codex.thread_store.v1``) store: :class:`RemoteThreadStore`.

Needs the ``grpc`` extra (``grpcio`` and ``protobuf``).
"""

from __future__ import annotations

from threadstore._backends.remote.client import RemoteThreadStore

__all__ = ["RemoteThreadStore"]
