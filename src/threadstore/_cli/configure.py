"""``threadstore config``: the settings this invocation would use, and where each comes from."""

from __future__ import annotations

from typing import Annotated

import typer

from threadstore._cli.app import app, globals_of
from threadstore._cli.config import URL_ENV
from threadstore._cli.output import print_json

__all__ = ["config_cmd"]


@app.command("config")
def config_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the settings as JSON.")] = False,
) -> None:
    """Show the store and token in effect and where each came from.

    Precedence: flags (--store, --home, --token), then the environment (THREADSTORE_URL,
    THREADSTORE_HOME, THREADSTORE_TOKEN), then the config file ($XDG_CONFIG_HOME/threadstore/
    config.toml, keys store, home, token), then the default local:~/.threadstore.
    """
    settings = globals_of(ctx).settings()
    token_set = settings.token.value is not None
    if as_json:
        print_json(
            {
                "config_file": str(settings.config_file),
                "config_file_found": settings.config_found,
                "store": {"value": settings.store.value, "from": settings.store.origin},
                "token": {"set": token_set, "from": settings.token.origin if token_set else None},
            }
        )
        return
    found = "" if settings.config_found else " (not found)"
    typer.echo(f"config file  {settings.config_file}{found}")
    typer.echo(f"store        {settings.store.value}   (from {settings.store.origin})")
    typer.echo(f"token        {'set (from ' + settings.token.origin + ')' if token_set else 'not set'}")
    if not settings.config_found:
        typer.echo('\nA config file holds defaults, e.g.:\n  store = "grpc://127.0.0.1:50051"\n  token = "..."')
        typer.echo(f"(${URL_ENV} and the flags override it.)")
