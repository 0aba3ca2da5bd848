"""Store URLs and the backends that open them, found by URL scheme.

A store URL is ``SCHEME:REST``; the scheme names a backend and the rest says where its threads
live. This package's backends:

=======================  ===================================================================
``memory:``              a new :class:`~threadstore.InMemoryThreadStore` (nothing survives)
``local:PATH``           ``LocalThreadStore(home=PATH)`` (``~`` is expanded)
``grpc://HOST:PORT``     :class:`~threadstore.RemoteThreadStore` (``grpcs://`` for TLS)
``postgresql://...``     :class:`~threadstore.PostgresThreadStore` (``postgres://`` too; the
                         URL is the libpq connection URL)
=======================  ===================================================================

Other packages add backends through the entry-point group ``threadstore.backends``: the entry
point's name is the scheme, its object a callable ``factory(url, **options) -> ThreadStore``
(see :data:`StoreFactory`). :func:`register_backend` does the same from code. Nothing here
imports a backend: a backend's module is imported when a URL of its scheme is opened.

The default URL is ``local:`` followed by ``$THREADSTORE_HOME``, or ``~/.threadstore``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Final, Protocol

from threadstore._contract.base import ThreadStore
from threadstore._env import HOME_ENV
from threadstore.errors import InvalidRequest, Unsupported

__all__ = [
    "ENTRY_POINT_GROUP",
    "BackendEntry",
    "StoreFactory",
    "backends",
    "default_store_url",
    "open_store",
    "register_backend",
    "url_forms",
]

ENTRY_POINT_GROUP: Final = "threadstore.backends"


class StoreFactory(Protocol):
    """Opens the store a URL names. ``options`` are the caller's keyword options (the command
    line passes ``environ``, the environment it resolved); a factory takes the options it knows
    and ignores the others. It raises :class:`InvalidRequest` for a URL it cannot read."""

    def __call__(self, url: str, /, **options: Any) -> ThreadStore: ...


@dataclass(frozen=True, slots=True)
class BackendEntry:
    """One backend the registry knows: its URL scheme, how its URLs look (for messages and
    help), where its factory is (``"module:attribute"``, or the callable itself) and the extra
    of this package it needs, if any."""

    scheme: str
    form: str
    target: str | StoreFactory
    extra: str | None = None

    def load(self) -> StoreFactory:
        """The factory; :class:`Unsupported` when its module cannot be imported here."""
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attribute = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            hint = f"install threadstore[{self.extra}]: " if self.extra else ""
            raise Unsupported(f"{self.scheme} store ({hint}{exc})") from None
        factory: StoreFactory = module
        for part in attribute.split(".") if attribute else ():
            factory = getattr(factory, part)
        return factory


_BUILTIN: Final = (
    BackendEntry("memory", "memory:", "threadstore._backends.memory:open_url"),
    BackendEntry("local", "local:PATH", "threadstore._backends.local:open_url"),
    BackendEntry("grpc", "grpc://HOST:PORT", "threadstore._backends.remote:open_url", "grpc"),
    BackendEntry("grpcs", "grpcs://HOST:PORT", "threadstore._backends.remote:open_url", "grpc"),
    BackendEntry("postgresql", "postgresql://...", "threadstore._backends.postgres:open_url", "postgres"),
    BackendEntry("postgres", "postgres://...", "threadstore._backends.postgres:open_url", "postgres"),
)
_registered: dict[str, BackendEntry] = {}
_discovered: dict[str, BackendEntry] | None = None


def _entry_points() -> dict[str, BackendEntry]:
    """The backends other installed packages declare (read once per process)."""
    global _discovered
    if _discovered is None:
        found: dict[str, BackendEntry] = {}
        for point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            scheme = point.name.lower()
            found[scheme] = BackendEntry(scheme, f"{scheme}:...", point.value)
        _discovered = found
    return _discovered


def backends() -> dict[str, BackendEntry]:
    """Every backend by scheme: this package's, then installed packages' (which cannot replace
    a built-in scheme), then those registered in this process (which can)."""
    table = {entry.scheme: entry for entry in _BUILTIN}
    for scheme, entry in _entry_points().items():
        table.setdefault(scheme, entry)
    table.update(_registered)
    return table


def register_backend(scheme: str, factory: StoreFactory | str, *, form: str | None = None) -> None:
    """Open URLs of ``scheme`` with ``factory`` (a callable, or ``"module:attribute"``) in this
    process. ``form`` shows how such a URL looks (default ``SCHEME:...``)."""
    scheme = _check_scheme(scheme)
    _registered[scheme] = BackendEntry(scheme, form or f"{scheme}:...", factory)


def url_forms() -> str:
    """How store URLs look, one per backend (``memory:, local:PATH, ...``), for messages."""
    seen: list[str] = []
    for entry in backends().values():
        if entry.scheme in ("grpcs", "postgres"):
            continue  # variants of grpc:// and postgresql://
        seen.append(entry.form)
    return ", ".join(seen)


def default_store_url(environ: Mapping[str, str] | None = None) -> str:
    """``local:$THREADSTORE_HOME``, or ``local:~/.threadstore`` (expanded) when it is unset."""
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV) or str(Path("~/.threadstore").expanduser())
    return f"local:{home}"


def open_store(url: str, **options: Any) -> ThreadStore:
    """Open the store ``url`` names, with the backend its scheme names.

    ``options`` go to the backend's factory (``environ=`` a mapping to read instead of
    ``os.environ``; the PostgreSQL store takes ``pool_size=`` and the other keywords of
    :class:`~threadstore.PostgresThreadStore`, the gRPC store ``token=``, ``timeout=``, ...).
    Raises :class:`InvalidRequest` for a malformed URL or an unknown scheme, and
    :class:`Unsupported` for a backend this installation cannot provide.
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidRequest("empty store URL")
    url = url.strip()
    scheme, sep, _ = url.partition(":")
    if not sep or not scheme:
        raise InvalidRequest(f"store URL has no scheme ({url_forms()}): {url!r}")
    entry = backends().get(scheme.lower())
    if entry is None and scheme.lower() in ("http", "https"):
        secure = "s" if scheme.lower() == "https" else ""
        raise InvalidRequest(
            f"{url!r} is how Codex names a thread-store server; threadstore names it "
            f"grpc{secure}://HOST:PORT (did you mean grpc{secure}:{url.partition(':')[2]}?)"
        )
    if entry is None:
        raise InvalidRequest(f"unknown store URL scheme {scheme.lower()!r} (use {url_forms()})")
    store = entry.load()(url, **options)
    if not isinstance(store, ThreadStore):
        raise Unsupported(f"the {entry.scheme} backend did not return a ThreadStore")
    return store


def _check_scheme(scheme: object) -> str:
    if not isinstance(scheme, str) or not scheme or not scheme.replace("+", "").replace("-", "").isalnum():
        raise InvalidRequest(f"a URL scheme is letters, digits, '+' and '-': {scheme!r}")
    return scheme.lower()
