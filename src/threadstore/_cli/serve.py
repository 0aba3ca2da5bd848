"""``threadstore serve``: run the gRPC thread-store server over the selected store.

The options and their rules are the server's own (:mod:`threadstore._server.main`, which
``python -m threadstore._server`` runs too); this command adds the command line's store selection,
``--json`` (the first stdout line is one object ``{"listening", "url", "store"}``) and its error
wording. A local home that does not exist yet is created. The gRPC library's own log lines are
silenced (``GRPC_VERBOSITY=NONE``) unless that variable is set: failures are reported as one
line of ours.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from threadstore._cli.app import app
from threadstore._cli.errors import CliFailure, from_exception
from threadstore._cli.output import print_json
from threadstore._cli.runner import open_for, store_url
from threadstore.errors import InvalidRequest, ThreadStoreError

if TYPE_CHECKING:
    from threadstore._server.app import RunningServer

__all__ = ["serve_cmd"]


def _listen_failure(exc: InvalidRequest, listen: str) -> CliFailure | None:
    if not exc.detail.startswith("cannot listen"):
        return None
    return CliFailure(
        f"cannot listen on {listen}: the address is in use or not available here "
        "(choose another with --listen HOST:PORT; port 0 picks a free one)",
        "cannot_listen",
    )


@app.command("serve")
def serve_cmd(
    ctx: typer.Context,
    listen: Annotated[str, typer.Option("--listen", "-l", help="HOST:PORT to listen on (port 0: any free port).")] = (
        "127.0.0.1:50051"
    ),
    store: Annotated[
        str | None, typer.Option("--store", "-s", help="Store URL (overrides the global --store).")
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="Require this bearer token.", envvar="THREADSTORE_SERVER_TOKEN")
    ] = None,
    token_file: Annotated[Path | None, typer.Option("--token-file", help="Read the bearer token from a file.")] = None,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="PEM certificate chain (enables TLS).")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key of the certificate.")] = None,
    max_message_mb: Annotated[int, typer.Option("--max-message-mb", help="Largest request accepted, in MiB.")] = 64,
    default_model_provider: Annotated[
        str,
        typer.Option("--default-model-provider", help="Provider of threads whose client never names one."),
    ] = "",
    idle_writer_timeout: Annotated[
        float,
        typer.Option(
            "--idle-writer-timeout",
            help="Release a live thread's writer after this many idle seconds (a client that comes "
            "back re-acquires it; 0 never releases).",
        ),
    ] = 1800.0,
    log_format: Annotated[str, typer.Option("--log-format", help="text or json.")] = "text",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not log each request.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also log each request's content.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the listening address as one JSON object.")] = False,
) -> None:
    """Serve the store over gRPC codex.thread_store.v1 until SIGINT/SIGTERM.

    Point Codex at it with experimental_thread_store_endpoint = "http://HOST:PORT" in its
    config.toml; threadstore clients use --store grpc://HOST:PORT.
    """
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    try:
        from threadstore._server.main import ServeOptions, announce, read_token, run, tls_files
    except ImportError as exc:
        raise CliFailure(f"the server needs the grpc extra (pip install 'threadstore[grpc]'): {exc}") from None

    url = store or store_url(ctx)

    def ready(running: RunningServer, served: str) -> None:
        if as_json:
            print_json({"listening": running.address, "url": running.url, "store": served})
        else:
            announce(running, served)

    try:
        try:
            options = ServeOptions(
                store_url=url,
                listen=listen,
                token=read_token(token, token_file),
                tls=tls_files(tls_cert, tls_key),
                max_message_bytes=max_message_mb * 1024 * 1024,
                default_model_provider=default_model_provider,
                idle_writer_timeout=idle_writer_timeout or None,
                log_format=log_format,
                log_level=logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO,
            )
        except InvalidRequest as exc:
            raise CliFailure(exc.detail, "usage") from None
        run(options, opener=lambda _: open_for(ctx, store, writes=True, serving=True), ready=ready)
    except InvalidRequest as exc:
        raise _listen_failure(exc, listen) or from_exception(exc, url) from None
    except ThreadStoreError as exc:
        raise from_exception(exc, url) from None
