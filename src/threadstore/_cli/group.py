"""The command group's entry point: every failure becomes one line (or one JSON object with
``--json``) and its documented exit status, whichever way the command line is run."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Final

from typer.core import TyperGroup

from threadstore._cli.errors import EXIT_ERROR, EXIT_USAGE, CliFailure, from_exception
from threadstore._cli.output import report_failure
from threadstore._runtime.errors import ThreadRuntimeError
from threadstore.errors import ThreadStoreError

__all__ = ["COMMAND_ORDER", "ThreadstoreGroup", "wants_json"]

COMMAND_ORDER: Final = [
    "list",
    "search",
    "show",
    "rename",
    "archive",
    "unarchive",
    "delete",
    "export",
    "import",
    "fork",
    "copy",
    "reindex",
    "chat",
    "ui",
    "config",
    "serve",
    "app-server",
]
"""The order of the commands in ``--help`` (others follow, in the order they were added)."""


def wants_json(args: Sequence[str]) -> bool:
    """True when ``--json`` is among the options (before a ``--`` that ends them)."""
    options = list(args)
    if "--" in options:
        options = options[: options.index("--")]
    return "--json" in options


def _parse_failure(exc: Exception) -> CliFailure | None:
    """A failure for an exception of the command-line parser (a click ``ClickException``, from
    click or from the copy Typer ships: told apart by their shape), else None. Usage errors
    (exit status 2) name the command whose ``--help`` explains the usage."""
    code = getattr(exc, "exit_code", None)
    format_message = getattr(exc, "format_message", None)
    if not isinstance(code, int) or not callable(format_message):
        return None
    # (Typer words a refused value as a validation library does: "Value error, 'x' is not...".)
    message = str(format_message()).replace("Value error, ", "")
    if code != EXIT_USAGE:
        return CliFailure(message, "error", code or EXIT_ERROR)
    command_path = getattr(getattr(exc, "ctx", None), "command_path", None)
    if isinstance(command_path, str):
        message += f" (see `{command_path} --help`)"
    return CliFailure(message, "usage", EXIT_USAGE)


class ThreadstoreGroup(TyperGroup):
    """A Typer group whose ``main`` reports failures itself (see the module documentation)."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        rank = {name: index for index, name in enumerate(COMMAND_ORDER)}
        return sorted(names, key=lambda name: rank.get(name, len(rank)))

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        as_json = wants_json(argv)
        failure: CliFailure | None = None
        try:
            result = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            status = result if isinstance(result, int) and not isinstance(result, bool) else 0
        except CliFailure as exc:
            failure = exc
        except (ThreadStoreError, ThreadRuntimeError, OSError) as exc:
            failure = from_exception(exc, "the store")
        except Exception as exc:
            name = type(exc).__name__
            if name == "NoArgsIsHelpError":
                exc.show()  # type: ignore[attr-defined]  # the help, for `threadstore` alone
                status = EXIT_USAGE
            elif name == "Abort":
                failure = CliFailure("aborted", "aborted")
            else:
                failure = _parse_failure(exc)
                if failure is None:
                    raise
        if failure is not None:
            report_failure(failure, as_json=as_json)
            status = failure.exit_code or EXIT_ERROR
        if standalone_mode:
            sys.exit(status)
        return status
