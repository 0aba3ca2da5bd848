"""The connection pool of the PostgreSQL store, and how every database call is run.

Connections are autocommit and never prepare statements (``prepare_threshold=None``): a
statement is its own transaction unless a unit of work opens one explicitly, and no state lives
in a session between units of work. That is what a transaction-mode pooler (PgBouncer) needs:
consecutive units of work may be served by different server connections.

:meth:`Database.run` runs one unit of work on a pooled connection. When it fails with a
transient error (the server restarted, a connection was lost, the pool had none to give) and
the work is safe to repeat, the idle connections are checked (dead ones are dropped, so the pool
recovers by itself) and the work is retried with backoff until ``retry_for`` seconds have
passed; then, or for any other failure, the error is raised as a store error
(:func:`~.errors.map_error`). Work that is not safe to repeat fails on the first error.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from threadstore._backends.postgres.errors import is_transient, map_error
from threadstore._backends.postgres.schema import migrate
from threadstore.errors import InvalidRequest

__all__ = ["Connection", "Database"]

T = TypeVar("T")
Connection = psycopg.AsyncConnection[Any]

_FIRST_BACKOFF: Final = 0.05
_DEFAULT_CONNECT_TIMEOUT: Final = 10.0
_MAX_BACKOFF: Final = 1.0


class Database:
    """A lazily opened pool over ``dsn`` whose schema is brought up to date on first use."""

    def __init__(self, dsn: str, *, pool_size: int, retry_for: float, connect_timeout: float | None) -> None:
        self.dsn = dsn
        self.retry_for = retry_for
        if connect_timeout is None:
            connect_timeout = _dsn_connect_timeout(dsn) or _DEFAULT_CONNECT_TIMEOUT
        self.connect_timeout = connect_timeout
        self._pool = AsyncConnectionPool(
            dsn,
            min_size=1,
            max_size=pool_size,
            open=False,
            timeout=connect_timeout,
            kwargs={"autocommit": True, "prepare_threshold": None, "connect_timeout": max(1, int(connect_timeout))},
            name="threadstore",
        )
        self._ready = False
        self._opening = asyncio.Lock()
        self._closed = False
        #: Called once the pool is open and the schema up to date.
        self.on_ready: Callable[[], None] | None = None

    async def _open(self) -> None:
        async with self._opening:
            if self._ready:
                return
            if self._closed:
                raise InvalidRequest("the store is closed")
            try:
                # A database that cannot be reached at all is reported after connect_timeout.
                await self._pool.open(wait=True, timeout=self.connect_timeout)
            except psycopg.Error as exc:
                raise map_error(exc) from None
            await self._attempts(migrate, idempotent=True)
            self._ready = True
            if self.on_ready is not None:
                self.on_ready()

    async def run(self, work: Callable[[Connection], Awaitable[T]], *, idempotent: bool = True) -> T:
        """Run ``work`` on a pooled connection (see the module documentation for retries)."""
        if not self._ready:
            await self._open()
        return await self._attempts(work, idempotent=idempotent)

    async def _attempts(self, work: Callable[[Connection], Awaitable[T]], *, idempotent: bool) -> T:
        deadline = time.monotonic() + self.retry_for
        backoff = _FIRST_BACKOFF
        while True:
            if self._closed:
                raise InvalidRequest("the store is closed")
            try:
                async with self._pool.connection() as conn:
                    return await work(conn)
            except (psycopg.Error, OSError) as exc:
                if not (idempotent and is_transient(exc)) or time.monotonic() + backoff > deadline:
                    raise map_error(exc) from None
            await self._recover()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)

    async def _recover(self) -> None:
        """Drop the idle connections that died (after a server restart, all of them)."""
        with contextlib.suppress(psycopg.Error):
            await self._pool.check()

    async def close(self) -> None:
        self._closed = True
        await self._pool.close()


def _dsn_connect_timeout(dsn: str) -> float | None:
    """The ``connect_timeout`` a connection string or URL sets, if any."""
    try:
        value = conninfo_to_dict(dsn).get("connect_timeout")
    except psycopg.Error:
        raise InvalidRequest("invalid PostgreSQL connection string") from None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
