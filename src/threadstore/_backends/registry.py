"""Store URLs: one string that names a backend and where its threads live.

=======================  ==========================================================
``memory:``              a new :class:`~threadstore.InMemoryThreadStore` (nothing survives)
``local:PATH``           ``LocalThreadStore(home=PATH)`` (``~`` is expanded)
``grpc://HOST:PORT``     :class:`~threadstore._backends.remote.RemoteThreadStore` (``grpcs://`` for TLS)
``postgresql://...``     :class:`~threadstore._backends.postgres.PostgresThreadStore` (``postgres://`` too;
                         the URL is the libpq connection URL)
=======================  ==========================================================

For gRPC URLs, ``THREADSTORE_TOKEN`` (a bearer token) and ``THREADSTORE_CA_FILE`` (PEM roots for
``grpcs://``) are read from the environment. The default URL is ``local:`` followed by
``$THREADSTORE_HOME``, or ``~/.threadstore`` when it is unset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from threadstore._contract.base import ThreadStore
from threadstore.errors import InvalidRequest, Unsupported

__all__ = ["TOKEN_ENV", "default_store_url", "open_store"]

HOME_ENV = "THREADSTORE_HOME"
TOKEN_ENV = "THREADSTORE_TOKEN"
CA_FILE_ENV = "THREADSTORE_CA_FILE"


def default_store_url(environ: Mapping[str, str] | None = None) -> str:
    """``local:$THREADSTORE_HOME``, or ``local:~/.threadstore`` (expanded) when it is unset."""
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV) or str(Path("~/.threadstore").expanduser())
    return f"local:{home}"


def open_store(url: str, *, environ: Mapping[str, str] | None = None) -> ThreadStore:
    """Open the store ``url`` names (see the module documentation).

    Raises :class:`InvalidRequest` for a malformed URL or an unknown scheme, and
    :class:`Unsupported` for a backend this installation cannot provide.
    """
    env = os.environ if environ is None else environ
    if not isinstance(url, str) or not url.strip():
        raise InvalidRequest("empty store URL")
    url = url.strip()
    scheme, sep, rest = url.partition(":")
    if not sep:
        raise InvalidRequest(
            f"store URL has no scheme (memory:, local:PATH, grpc://HOST:PORT, postgresql://...): {url!r}"
        )
    scheme = scheme.lower()
    if scheme == "memory":
        if rest:
            raise InvalidRequest(f"memory: takes no location: {url!r}")
        from threadstore._backends.memory.store import InMemoryThreadStore

        return InMemoryThreadStore()
    if scheme == "local":
        if not rest:
            raise InvalidRequest("local: needs a directory (local:PATH)")
        return _open_local(Path(rest).expanduser())
    if scheme in ("grpc", "grpcs"):
        try:
            from threadstore._backends.remote.client import RemoteThreadStore
        except ImportError as exc:
            raise Unsupported(f"grpc store (install threadstore[grpc]: {exc})") from None
        return RemoteThreadStore(url, token=env.get(TOKEN_ENV) or None, ca_file=env.get(CA_FILE_ENV) or None)
    if scheme in ("postgresql", "postgres"):
        try:
            from threadstore._backends.postgres import PostgresThreadStore
        except ImportError as exc:
            raise Unsupported(f"postgresql store (install threadstore[postgres]: {exc})") from None
        return PostgresThreadStore(url)
    raise InvalidRequest(
        f"unknown store URL scheme {scheme!r} (use memory:, local:PATH, grpc://HOST:PORT or postgresql://...)"
    )


def _open_local(home: Path) -> ThreadStore:
    try:
        from threadstore._backends.local import LocalThreadStore
    except ImportError as exc:
        raise Unsupported(f"local store ({exc})") from None
    store: ThreadStore = LocalThreadStore(home=home)
    return store
