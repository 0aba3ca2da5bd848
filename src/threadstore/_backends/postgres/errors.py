"""The one place where psycopg's exceptions become the store's own.

Every database call of the PostgreSQL store goes through :func:`map_error` on failure, so no
psycopg (or psycopg_pool) exception escapes a public operation. :func:`is_transient` says which
failures are worth retrying: a lost or refused connection (a server restart, ``AdminShutdown``,
a server still starting), a pool that could not hand out a connection in time, and the
concurrency failures PostgreSQL itself asks clients to retry (serialization, deadlock).
"""

from __future__ import annotations

import psycopg
from psycopg import errors as pg

from threadstore.errors import Conflict, Internal, InvalidRequest, ResourceExhausted, ThreadStoreError

__all__ = ["is_transient", "map_error"]

# serialization_failure, deadlock_detected; admin_shutdown, crash_shutdown, cannot_connect_now
_RETRY_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03"})


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure that a retry on a fresh connection may not meet again."""
    if isinstance(exc, psycopg.InterfaceError):
        return True  # the connection was found closed
    if not isinstance(exc, psycopg.Error):
        return False
    state = exc.sqlstate
    if state is None:
        # Raised by the client: connection refused or lost, or the pool had none to give.
        return isinstance(exc, psycopg.OperationalError)
    return state.startswith("08") or state in _RETRY_SQLSTATES


def map_error(exc: BaseException) -> ThreadStoreError:
    """The store error that stands for ``exc`` (a psycopg or pool exception)."""
    if isinstance(exc, ThreadStoreError):
        return exc
    if isinstance(exc, pg.DiskFull | pg.OutOfMemory | pg.ProgramLimitExceeded | pg.TooManyConnections):
        return ResourceExhausted(f"PostgreSQL: {_first_line(exc)}")
    if isinstance(exc, pg.UniqueViolation | pg.SerializationFailure | pg.DeadlockDetected | pg.LockNotAvailable):
        return Conflict(f"PostgreSQL: {_first_line(exc)}")
    if isinstance(exc, pg.DataError | pg.CharacterNotInRepertoire | pg.UntranslatableCharacter):
        return InvalidRequest(f"PostgreSQL refused a value: {_first_line(exc)}")
    if is_transient(exc):
        return Internal(f"PostgreSQL is unavailable: {_first_line(exc)}")
    return Internal(f"PostgreSQL: {type(exc).__name__}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
