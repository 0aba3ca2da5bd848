"""``threadstore app-server``: the Codex app-server v2 style JSON-RPC server (stdio or
WebSocket)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from threadstore._cli.app import app
from threadstore._cli.errors import CliFailure
from threadstore._cli.models import (
    ApiKeyEnvOption,
    BaseUrlOption,
    ModelChoice,
    ModelNameOption,
    ModelOption,
    model_client,
)
from threadstore._cli.runner import run_store
from threadstore._contract.base import ThreadStore
from threadstore._runtime.manager import ThreadManager

__all__ = ["app_server_cmd"]

APP_SERVER_SOURCE = "vscode"
"""The session source of threads started here (what Codex's app server records)."""


@app.command("app-server")
def app_server_cmd(
    ctx: typer.Context,
    listen: Annotated[
        str, typer.Option("--listen", help="Transport: stdio:// or ws://HOST:PORT (WebSocket; port 0 picks one).")
    ] = "stdio://",
    token: Annotated[
        str | None, typer.Option("--token", help="Bearer token WebSocket clients must send (Authorization header).")
    ] = None,
    token_file: Annotated[
        str | None, typer.Option("--token-file", help="File whose first line is the bearer token.")
    ] = None,
    model: ModelOption = ModelChoice.builtin,
    base_url: BaseUrlOption = None,
    api_key_env: ApiKeyEnvOption = "OPENAI_API_KEY",
    model_name: ModelNameOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every refused request too.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Failures before serving as JSON (the protocol is JSON already).")
    ] = False,
) -> None:
    """Serve JSON-RPC (Codex app-server v2 style) on stdin/stdout until stdin ends, or to
    WebSocket clients (--listen ws://HOST:PORT) until interrupted.

    One message per line (stdio) or per text frame (WebSocket), no "jsonrpc" member; logs go to
    stderr, where a WebSocket server also prints the URL it listens on. At the end every loaded
    thread is shut down (everything said is stored) and the command exits 0.
    """
    from threadstore._appserver import check_listen, load_token, parse_listen

    try:
        target = parse_listen(listen)
        bearer = load_token(token, token_file)
        check_listen(target, bearer)
    except ValueError as exc:
        raise CliFailure(str(exc), "usage") from None
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    client = model_client(model, base_url, api_key_env, model_name)  # a missing key fails here

    async def work(store: ThreadStore) -> None:
        from threadstore._appserver import serve

        def announce(url: str) -> None:
            typer.echo(f"threadstore app-server listening on {url}", err=True)

        try:
            await serve(
                ThreadManager(store, model=client, source=APP_SERVER_SOURCE), target, token=bearer, announce=announce
            )
        finally:
            await client.aclose()

    run_store(ctx, work, writes=True)
