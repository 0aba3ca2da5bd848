"""Running a server from the command line: ``python -m threadstore._server`` (this module's
:func:`main`) and ``threadstore serve`` (the command line's ``serve``, which builds the same
:class:`ServeOptions` and calls :func:`run`).

The first line on stdout is ``listening on HOST:PORT`` once the server accepts connections (tests
and scripts read it); the next says how to point clients and Codex at it. Errors are one line on
stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from threadstore._backends.registry import default_store_url, open_store
from threadstore._contract.base import ThreadStore
from threadstore._server.app import DEFAULT_MAX_MESSAGE_BYTES, RunningServer, TlsFiles, serve
from threadstore._server.logs import configure_logging
from threadstore.errors import InvalidRequest, ThreadStoreError

__all__ = ["ServeOptions", "announce", "main", "read_token", "run", "tls_files"]


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """How to serve: where, what, and with which limits and credentials."""

    store_url: str
    listen: str = "127.0.0.1:50051"
    token: str | None = None
    tls: TlsFiles | None = None
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    default_model_provider: str = ""
    idle_writer_timeout: float | None = 1800.0
    log_format: str = "text"
    log_level: int = logging.INFO

    def __post_init__(self) -> None:
        if self.log_format not in ("text", "json"):
            raise InvalidRequest(f"--log-format must be text or json, not {self.log_format!r}")
        if self.max_message_bytes < 1024 * 1024:
            raise InvalidRequest("--max-message-mb must be at least 1")


def read_token(token: str | None, token_file: Path | None) -> str | None:
    """The bearer token from ``--token-file`` (preferred) or ``--token``; ``InvalidRequest`` when
    the file cannot be read or is empty."""
    if token_file is None:
        return token or None
    try:
        text = token_file.read_text().strip()
    except OSError as exc:
        raise InvalidRequest(f"cannot read token file: {exc}") from None
    if not text:
        raise InvalidRequest(f"token file {token_file} is empty")
    return text


def tls_files(cert: Path | None, key: Path | None) -> TlsFiles | None:
    if (cert is None) != (key is None):
        raise InvalidRequest("--tls-cert and --tls-key go together")
    return TlsFiles(cert=cert, key=key) if cert is not None and key is not None else None


def announce(running: RunningServer, store_url: str) -> None:
    """Tell stdout where the server listens (the first line is for programs)."""
    scheme = "https" if running.tls else "http"
    sys.stdout.write(f"listening on {running.address}\n")
    sys.stdout.write(
        f"serving {store_url}; clients: threadstore --store {running.url} ...; Codex: set "
        f'experimental_thread_store_endpoint = "{scheme}://{running.address}" in config.toml\n'
    )
    sys.stdout.flush()


def run(
    options: ServeOptions,
    *,
    opener: Callable[[str], ThreadStore] | None = None,
    ready: Callable[[RunningServer, str], None] = announce,
) -> None:
    """Serve until SIGINT or SIGTERM (see :func:`threadstore._server.serve`): the store
    ``opener`` gives for the URL, announced by ``ready`` once it accepts connections. Raises
    :class:`~threadstore.errors.ThreadStoreError` for bad options or a failed start."""
    configure_logging("json" if options.log_format == "json" else "text", options.log_level)

    async def serve_store() -> None:
        # A server's event loop must never wait for the disk: a local store runs on its own thread.
        store = opener(options.store_url) if opener is not None else open_store(options.store_url, offload=True)
        try:
            await serve(
                options.listen,
                store,
                token=options.token,
                tls=options.tls,
                max_message_bytes=options.max_message_bytes,
                default_model_provider=options.default_model_provider,
                idle_writer_timeout=options.idle_writer_timeout,
                ready=lambda running: ready(running, options.store_url),
            )
        except BaseException:
            await store.close()
            raise

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_store())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m threadstore._server", description="Serve a thread store over gRPC codex.thread_store.v1."
    )
    parser.add_argument("--listen", "-l", default="127.0.0.1:50051", help="HOST:PORT (port 0: any free port)")
    parser.add_argument("--store", "-s", default=None, help="store URL (default: local:$THREADSTORE_HOME)")
    parser.add_argument("--token", default=None, help="require this bearer token")
    parser.add_argument("--token-file", type=Path, default=None, help="read the bearer token from a file")
    parser.add_argument("--tls-cert", type=Path, default=None, help="PEM certificate chain (enables TLS)")
    parser.add_argument("--tls-key", type=Path, default=None, help="PEM private key")
    parser.add_argument("--max-message-mb", type=int, default=64, help="largest request accepted, in MiB")
    parser.add_argument("--default-model-provider", default="", help="provider of threads that name none")
    parser.add_argument("--idle-writer-timeout", type=float, default=1800.0, help="seconds; 0 never releases")
    parser.add_argument("--log-format", default="text", choices=("text", "json"))
    parser.add_argument("--quiet", "-q", action="store_true", help="do not log each request")
    parser.add_argument("--verbose", "-v", action="store_true", help="also log each request's content")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        options = ServeOptions(
            store_url=args.store or default_store_url(),
            listen=args.listen,
            token=read_token(args.token, args.token_file),
            tls=tls_files(args.tls_cert, args.tls_key),
            max_message_bytes=args.max_message_mb * 1024 * 1024,
            default_model_provider=args.default_model_provider,
            idle_writer_timeout=args.idle_writer_timeout or None,
            log_format=args.log_format,
            log_level=logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO,
        )
        run(options)
    except ThreadStoreError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0
