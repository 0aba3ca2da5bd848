"""The remote (gRPC ``codex.thread_store.v1``) store: :class:`RemoteThreadStore`.

Needs the ``grpc`` extra (``grpcio`` and ``protobuf``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from threadstore._backends.remote.client import RemoteThreadStore
from threadstore._env import CA_FILE_ENV, TOKEN_ENV

__all__ = ["RemoteThreadStore", "open_url"]


def open_url(url: str, /, *, environ: Mapping[str, str] | None = None, **options: Any) -> RemoteThreadStore:
    """The store of a ``grpc://HOST:PORT`` (``grpcs://`` for TLS) URL. The bearer token and the
    CA file come from ``token=`` / ``ca_file=``, else from ``THREADSTORE_TOKEN`` /
    ``THREADSTORE_CA_FILE`` in ``environ`` (default: the process environment). ``timeout=``
    and ``writer_id=`` are passed on; other options are ignored."""
    env = os.environ if environ is None else environ
    token = options.get("token") or env.get(TOKEN_ENV) or None
    ca_file = options.get("ca_file") or env.get(CA_FILE_ENV) or None
    extra = {name: options[name] for name in ("timeout", "writer_id") if name in options}
    return RemoteThreadStore(url, token=token, ca_file=ca_file, **extra)
