"""Running one command's work against the store the settings name.

:func:`run_store` opens the store, runs the work, closes the store, and turns every store,
runtime or OS error into a :class:`~.errors.CliFailure` worded for people. Before opening a local
store it checks that the home exists: a missing home is an error (a typo must not look like an
empty store) unless ``--create`` was given or the command writes threads (``writes=True``:
``chat``, ``serve``, ``app-server``, ``import``), which create it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer

from threadstore._backends.registry import open_store
from threadstore._cli.app import globals_of
from threadstore._cli.errors import CliFailure, from_exception
from threadstore._cli.progress import index_progress, progress_wanted
from threadstore._contract.base import ThreadStore
from threadstore._runtime.errors import ThreadRuntimeError
from threadstore.errors import ThreadStoreError

__all__ = ["check_home", "open_for", "run_store", "store_url"]

T = TypeVar("T")


def check_home(url: str, origin: str, *, create: bool) -> None:
    """Raise a failure when ``url`` is a local store whose home is missing (unless ``create``)
    or is not a directory. Other URLs pass unchecked."""
    scheme, _, rest = url.strip().partition(":")
    if scheme.lower() != "local" or not rest:
        return
    home = Path(rest).expanduser()
    if home.is_dir():
        return
    if home.exists():
        raise CliFailure(f"{home} is a file, not a thread store directory (store from {origin})", "invalid_store")
    if not create:
        raise CliFailure(
            f"no thread store at {home} (store from {origin}); check the path, "
            "or pass --create to start an empty store there",
            "not_found",
        )


def store_url(ctx: typer.Context) -> str:
    """The store URL of this invocation (flags, environment, config file, default)."""
    return globals_of(ctx).settings().store.value or ""


def open_for(ctx: typer.Context, url: str | None = None, *, writes: bool = False, serving: bool = False) -> ThreadStore:
    """Open the invocation's store (or ``url``), after the home check. ``serving``: for a
    server, whose event loop must never wait for the disk (a local store then runs on a thread
    of its own)."""
    options = globals_of(ctx)
    settings = options.settings()
    origin = settings.store.origin
    if url is None:
        url = settings.store.value or ""
    else:
        origin = url
    check_home(url, origin, create=writes or options.create)
    try:
        return open_store(url, environ=settings.environ(), offload=serving)
    except ThreadStoreError as exc:
        raise from_exception(exc, url) from None


def run_store(
    ctx: typer.Context,
    work: Callable[[ThreadStore], Awaitable[T]],
    *,
    writes: bool = False,
    url: str | None = None,
) -> T:
    """Open the store (``url``, default the invocation's), run ``work`` on it, close it. A local
    store indexing many new rollouts shows a progress bar (see :mod:`.progress`)."""
    name = url or store_url(ctx)
    quiet = globals_of(ctx).quiet

    async def main() -> T:
        store = open_for(ctx, url, writes=writes)
        with index_progress(store, enabled=progress_wanted(quiet)):
            try:
                return await work(store)
            finally:
                await store.close()

    try:
        return asyncio.run(main())
    except (ThreadStoreError, ThreadRuntimeError, OSError) as exc:
        raise from_exception(exc, name) from None
