"""``threadstore app-server``: the Codex app-server v2 style JSON-RPC server over stdio."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from ..runtime.manager import ThreadManager
from ..store.base import ThreadStore
from .app import app
from .errors import CliFailure
from .models import ModelChoice, model_client
from .runner import run_store

__all__ = ["app_server_cmd"]

APP_SERVER_SOURCE = "vscode"
"""The session source of threads started here (what Codex's app server records)."""


@app.command("app-server")
def app_server_cmd(
    ctx: typer.Context,
    listen: Annotated[str, typer.Option("--listen", help="Transport: stdio:// (the only one so far).")] = "stdio://",
    model: Annotated[ModelChoice, typer.Option("--model", help="Who answers.")] = ModelChoice.builtin,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Responses API base URL (default $OPENAI_BASE_URL or OpenAI).")
    ] = None,
    api_key_env: Annotated[
        str, typer.Option("--api-key-env", help="Environment variable holding the API key.")
    ] = "OPENAI_API_KEY",
    model_name: Annotated[str | None, typer.Option("--model-name", help="Model to ask (e.g. gpt-4.1-mini).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every refused request too.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Failures before serving as JSON (the protocol is JSON already).")
    ] = False,
) -> None:
    """Serve JSON-RPC (Codex app-server v2 style) on stdin/stdout until stdin ends.

    One message per line, no "jsonrpc" member; logs go to stderr. At end of input every loaded
    thread is shut down (everything said is stored) and the command exits 0.
    """
    if listen != "stdio://":
        raise CliFailure(f"unsupported --listen {listen!r}: only stdio:// is available", "usage")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    client = model_client(model, base_url, api_key_env, model_name)  # a missing key fails here

    async def work(store: ThreadStore) -> None:
        from ..appserver import serve_stdio

        try:
            await serve_stdio(ThreadManager(store, model=client, source=APP_SERVER_SOURCE))
        finally:
            await client.aclose()

    run_store(ctx, work, writes=True)
