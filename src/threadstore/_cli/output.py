"""Where output goes: JSON for programs on stdout, rich consoles for people, failures.

People's output is sized to the terminal (or to ``$COLUMNS`` when set); when stdout is neither a
terminal nor sized by ``$COLUMNS`` (a pipe, a file), lines are laid out for 160 columns.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any, Final

from rich.console import Console

from threadstore import _json
from threadstore._cli.errors import CliFailure

__all__ = ["PIPE_WIDTH", "err_console", "out_console", "print_json", "report_failure"]

PIPE_WIDTH: Final = 160


def _width(stream: Any) -> int | None:
    if os.environ.get("COLUMNS", "").isdigit() or stream.isatty():
        return None  # rich reads $COLUMNS, then the terminal
    return PIPE_WIDTH


def out_console(width: int | None = None) -> Console:
    """A console on the current stdout (``width`` overrides the detected one)."""
    return Console(width=width or _width(sys.stdout), highlight=False)


def err_console() -> Console:
    """A console on the current stderr."""
    return Console(stderr=True, width=_width(sys.stderr), highlight=False)


def print_json(value: Any) -> None:
    """``value`` as one line of JSON on stdout."""
    sys.stdout.write(_json.dumps_str(value) + "\n")
    sys.stdout.flush()


def report_failure(failure: CliFailure, *, as_json: bool, result: Mapping[str, Any] | None = None) -> None:
    """``error: message`` (one line) on stderr and, with ``--json``, ``{"error": {"code",
    "message"}}`` on stdout too, beside the members of ``result`` when the command has one to
    give all the same (what a copy or an import did before some of it failed)."""
    if as_json:
        print_json({"error": {"code": failure.code, "message": failure.message}, **(result or {})})
    sys.stderr.write(f"error: {' '.join(failure.message.split())}\n")
    sys.stderr.flush()
