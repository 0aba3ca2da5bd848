"""Failures of the command line: exit codes, and store errors retold in the user's words.

Exit status (documented in ``threadstore --help``): 0 success, 1 error, 2 usage (the command
line itself is wrong: unknown option, missing argument, bad value type), 3 not found (a thread,
an id prefix or a store), 4 conflict (another writer holds the thread). Every failure carries a
stable machine-readable ``code`` for ``--json`` output (``{"error": {"code", "message"}}``).
"""

from __future__ import annotations

from typing import Final

from threadstore._runtime.errors import ThreadRuntimeError
from threadstore.errors import (
    Conflict,
    Internal,
    InvalidRequest,
    ResourceExhausted,
    ThreadNotFound,
    ThreadStoreError,
    Unsupported,
)

__all__ = [
    "EXIT_CONFLICT",
    "EXIT_ERROR",
    "EXIT_HELP",
    "EXIT_NOT_FOUND",
    "EXIT_USAGE",
    "CliFailure",
    "from_exception",
]

EXIT_ERROR: Final = 1
EXIT_USAGE: Final = 2
EXIT_NOT_FOUND: Final = 3
EXIT_CONFLICT: Final = 4

EXIT_HELP: Final = (
    "Exit status: 0 success, 1 error, 2 usage (unknown option, missing argument), 3 not found "
    "(thread, id prefix or store), 4 conflict (another program is writing the thread). With --json, "
    'a failure prints {"error": {"code": ..., "message": ...}} on stdout with the same status.'
)

_EXIT_OF_CODE: Final = {"usage": EXIT_USAGE, "not_found": EXIT_NOT_FOUND, "conflict": EXIT_CONFLICT}


class CliFailure(Exception):
    """A failure to report: ``code`` (e.g. ``not_found``) and a one-line ``message`` that says
    what went wrong and, where it helps, what to do next."""

    def __init__(self, message: str, code: str = "error", exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.exit_code = exit_code if exit_code is not None else _EXIT_OF_CODE.get(code, EXIT_ERROR)

    def __str__(self) -> str:
        return self.message


def _remote(detail: str, store: str) -> CliFailure:
    """An ``Internal`` error of a remote call, retold (the client names the gRPC status)."""
    if "UNAVAILABLE" in detail:
        return CliFailure(
            f"cannot reach the thread server at {store}: is `threadstore serve` running there?", "unavailable"
        )
    if "UNAUTHENTICATED" in detail:
        return CliFailure(
            f"the thread server at {store} refused the request (UNAUTHENTICATED): it needs a token; "
            "set THREADSTORE_TOKEN, --token or token in the config file",
            "unauthenticated",
        )
    if "DEADLINE_EXCEEDED" in detail:
        return CliFailure(f"the thread server at {store} did not answer in time", "timeout")
    return CliFailure(f"the thread server at {store} failed: {detail}", "internal")


def from_exception(exc: BaseException, store: str) -> CliFailure:
    """``exc`` (a store, runtime or OS error met while working on ``store``) as a failure whose
    message speaks of what the user typed, not of the library's internals."""
    if isinstance(exc, CliFailure):
        return exc
    if isinstance(exc, ThreadNotFound):
        return CliFailure(
            f"thread {exc.thread_id} not found in {store} (see `threadstore list`, or `list --archived`)", "not_found"
        )
    if isinstance(exc, Conflict):
        return CliFailure(f"{exc.detail} (another program is writing this thread; try again later)", "conflict")
    if isinstance(exc, InvalidRequest):
        return CliFailure(exc.detail, "invalid_request")
    if isinstance(exc, Unsupported):
        return CliFailure(f"{store} does not support this: {exc.operation}", "unsupported")
    if isinstance(exc, ResourceExhausted):
        return CliFailure(exc.detail, "resource_exhausted")
    if isinstance(exc, Internal):
        if "remote thread store request failed" in exc.detail:
            return _remote(exc.detail, store)
        return CliFailure(f"{store}: {exc.detail}", "internal")
    if isinstance(exc, ThreadStoreError | ThreadRuntimeError):
        return CliFailure(str(exc), "error")
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return CliFailure(f"{exc.strerror or exc}{where}", "os_error")
    return CliFailure(f"{type(exc).__name__}: {exc}", "internal")
