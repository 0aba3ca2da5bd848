"""``threadstore ui``: the web page (:mod:`threadstore._ui`) over the invocation's store.

It listens on ``127.0.0.1:8765`` by default. On a loopback address no token is needed (one can
be required with ``--auth-token``); on any other address a token is always required: the one
given, or a random one. The first stdout line is the page's address (with ``?token=`` when one
is required; with ``--json``: ``{"url", "store"}``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from typing import Annotated, Final

import typer

from threadstore._cli.app import app, globals_of
from threadstore._cli.errors import CliFailure
from threadstore._cli.output import print_json
from threadstore._cli.runner import check_home, open_for, store_url

__all__ = ["DEFAULT_LISTEN", "ui_cmd"]

DEFAULT_LISTEN: Final = "127.0.0.1:8765"


@app.command("ui")
def ui_cmd(
    ctx: typer.Context,
    listen: Annotated[
        str, typer.Option("--listen", "-l", help="HOST:PORT to listen on (port 0: any free port).")
    ] = DEFAULT_LISTEN,
    auth_token: Annotated[
        str | None,
        typer.Option(
            "--auth-token",
            help="Require this token from the browser (always required off loopback; a random one "
            "is made when none is given) [default: $THREADSTORE_UI_TOKEN].",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the page's address as one JSON object.")] = False,
) -> None:
    """A local web page to list, filter, search and read threads, and rename, archive or delete them."""
    try:
        from threadstore._ui import is_loopback, parse_listen, serve_ui
    except ImportError as exc:
        raise CliFailure(f"the web page needs the ui extra (pip install 'threadstore[ui]'): {exc}") from None
    try:
        host, _ = parse_listen(listen)
    except ValueError:
        raise CliFailure(f"--listen {listen!r} is not HOST:PORT (e.g. 127.0.0.1:8765)", "usage") from None
    token = auth_token or os.environ.get("THREADSTORE_UI_TOKEN") or None
    if token is None and not is_loopback(host):
        token = secrets.token_urlsafe(18)
    url = store_url(ctx)
    options = globals_of(ctx)
    check_home(url, options.settings().store.origin, create=options.create)

    def ready(address: str) -> None:
        if as_json:
            print_json({"url": address, "store": url})
            return
        sys.stdout.write(f"{address}\n")
        sys.stdout.write(f"serving {url} on that page; Ctrl-C to stop\n")
        sys.stdout.flush()

    try:
        asyncio.run(serve_ui(lambda: open_for(ctx, serving=True), listen, token=token, ready=ready))
    except OSError as exc:
        raise CliFailure(
            f"cannot listen on {listen}: {exc.strerror or exc} (choose another with --listen HOST:PORT; "
            "port 0 picks a free one)",
            "cannot_listen",
        ) from None
    except KeyboardInterrupt:
        pass
