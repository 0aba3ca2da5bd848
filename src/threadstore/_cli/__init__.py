"""The ``threadstore`` command line (console script entry point: :func:`main`).

One module per job: :mod:`.app` (the application and its global options), :mod:`.config`
(flags, environment, config file), :mod:`.runner` (opening the store), :mod:`.errors` (exit codes
and messages), :mod:`.output` and :mod:`.jsonout` (JSON), :mod:`.resolve` (id prefixes),
:mod:`.tables` and :mod:`.transcript_text` (what people see); the commands register themselves
on the application when their modules are imported below.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threadstore._cli.commands import app, page_to_json, search_page_to_json, thread_to_json

__all__ = ["app", "main", "page_to_json", "search_page_to_json", "thread_to_json"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        app = _commands().app
    except ImportError as exc:  # the core install has no command-line libraries
        sys.stderr.write(
            f"error: the threadstore command needs the cli extra (pip install 'threadstore[cli]'); "
            f"{exc.name or exc} is not installed\n"
        )
        return 1
    try:
        app(args=list(argv) if argv is not None else None, prog_name="threadstore")
    except SystemExit as exc:
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def _commands() -> Any:
    from threadstore._cli import commands

    # Importing the commands imports the submodule ``app``, which the import system binds to the
    # package's name ``app``: bind the application itself (and its helpers) over it.
    for name in ("app", "page_to_json", "search_page_to_json", "thread_to_json"):
        globals()[name] = getattr(commands, name)
    return commands


def __getattr__(name: str) -> Any:
    if name in ("app", "page_to_json", "search_page_to_json", "thread_to_json"):
        return getattr(_commands(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
