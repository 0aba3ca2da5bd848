"""The ``threadstore`` command: the Typer application and its global options.

Global options come before the command (``threadstore --store URL list``): where the store is
(``--store``, ``--home``; see :mod:`.config` for the environment and the config file), the
server token (``--token``), ``--create`` (allow a local home that does not exist yet to be
created), ``--quiet`` (no progress bars) and ``--version``. Each command lives in its own module
and registers itself on :data:`app`; :mod:`.runner` runs a command's work against the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from typing import Annotated

import typer

from threadstore._backends.registry import url_forms
from threadstore._cli.config import Settings, resolve
from threadstore._cli.errors import EXIT_HELP
from threadstore._cli.group import ThreadstoreGroup

__all__ = ["Globals", "app", "globals_of"]

app = typer.Typer(
    name="threadstore",
    cls=ThreadstoreGroup,
    help="Durable conversation threads: list, read, search and manage them, chat, or serve a store.",
    epilog=EXIT_HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@dataclass
class Globals:
    """The global options of one invocation; the settings are resolved on first use (the config
    file is read only by commands that need a store)."""

    store: str | None = None
    home: str | None = None
    token: str | None = None
    create: bool = False
    quiet: bool = False
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = resolve(store=self.store, home=self.home, token=self.token)
        return self._settings


def globals_of(ctx: typer.Context) -> Globals:
    """The global options (defaults when the command runs without the root callback)."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Globals) else Globals()


def _version(value: bool) -> None:
    if value:
        try:
            version = metadata.version("threadstore")
        except metadata.PackageNotFoundError:
            from threadstore import __version__ as version
        typer.echo(f"threadstore {version}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            "-s",
            metavar="URL",
            help=f"Store URL: {url_forms()} "
            "[default: $THREADSTORE_URL, $THREADSTORE_HOME, the config file, local:~/.threadstore]",
            show_default=False,
        ),
    ] = None,
    home: Annotated[
        str | None,
        typer.Option("--home", metavar="PATH", help="A local store's directory (same as --store local:PATH)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", metavar="TOKEN", help="Bearer token for a grpc:// store [default: $THREADSTORE_TOKEN]."
        ),
    ] = None,
    create: Annotated[
        bool, typer.Option("--create", help="Create the local store's directory if it does not exist.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    ctx.obj = Globals(store=store, home=home, token=token, create=create, quiet=quiet)
