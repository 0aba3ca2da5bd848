"""The gRPC server: transport, authentication, status codes, request logging, shutdown.

:func:`start_server` binds and starts a ``grpc.aio`` server for a store and returns a
:class:`RunningServer`; :func:`serve` runs one until SIGINT or SIGTERM, then stops accepting
requests, lets in-flight ones finish (a grace period) and closes the store, which shuts down and
flushes every live thread.

Every request is logged as one line on the ``threadstore._server`` logger (INFO, or WARNING for
``INTERNAL``): method, thread id (when the request has one), status code and duration. The
structured fields are also attached to the record as ``record.rpc`` (see
:mod:`threadstore._server.logs` for the JSON format).

With a ``token``, every call must carry the metadata ``authorization: Bearer <token>``
(compared in constant time); others get ``UNAUTHENTICATED`` and never reach the store.
Requests larger than ``max_message_bytes`` are refused by gRPC with ``RESOURCE_EXHAUSTED``.

The server keeps its memory budget (:mod:`.limits`) whatever clients do: each connection has at
most ``max_streams`` calls open (HTTP/2 ``SETTINGS_MAX_CONCURRENT_STREAMS``), keepalive pings
close a connection whose client stops answering them while calls are open, and every answer is
serialized here and counted against the answer budget (:mod:`.budget`) until its client has read
it; history answers are built a few at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import grpc
from google.protobuf import text_format
from google.protobuf.message import DecodeError, Message

from threadstore._contract.base import ThreadStore
from threadstore._server.budget import AnswerBudget
from threadstore._server.leases import caller_token
from threadstore._server.limits import ServerLimits
from threadstore._server.service import Handler, ThreadStoreService, builds_history
from threadstore._wire.methods import METHODS, SERVICE, WRITER_METADATA_KEY
from threadstore._wire.status import error_metadata, status_of
from threadstore.errors import Internal, InvalidRequest, ThreadStoreError

__all__ = ["DEFAULT_MAX_MESSAGE_BYTES", "RunningServer", "TlsFiles", "serve", "start_server"]

logger = logging.getLogger("threadstore.server")

DEFAULT_MAX_MESSAGE_BYTES: Final = 64 * 1024 * 1024
"""Largest request the server accepts by default (64 MiB: several maximum-size items)."""

SHUTDOWN_GRACE_SECONDS: Final = 5.0

MAX_ERROR_CHARS: Final = 1000
"""Longest error text a reply carries (in its status and its metadata): bad input is not echoed
back whole."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files of the server's certificate chain and private key."""

    cert: Path
    key: Path


@dataclass(frozen=True, slots=True)
class _BearerAuth:
    expected: bytes

    def allows(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> bool:
        for key, value in metadata or ():
            if key == "authorization":
                raw = value if isinstance(value, bytes) else value.encode("utf-8")
                return hmac.compare_digest(raw, b"Bearer " + self.expected)
        return False


def _log(method: str, thread_id: str | None, code: grpc.StatusCode, started: float, detail: str | None) -> None:
    duration_ms = (time.perf_counter() - started) * 1000
    level = logging.WARNING if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN) else logging.INFO
    if not logger.isEnabledFor(level):
        return
    rpc: dict[str, Any] = {
        "method": method,
        "thread_id": thread_id,
        "status": code.name,
        "duration_ms": round(duration_ms, 3),
    }
    if detail:
        rpc["error"] = detail
    text = f"{method} thread={thread_id or '-'} status={code.name} duration_ms={duration_ms:.2f}"
    if detail:
        text += f" error={detail!r}"
    logger.log(level, text, extra={"rpc": rpc})


def _writer_token(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    for key, value in metadata or ():
        if key == WRITER_METADATA_KEY:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return None


def _wrap(method: str, impl: Handler, auth: _BearerAuth | None, budget: AnswerBudget) -> Callable[..., Any]:
    """The handler of one RPC: the token is checked before the request's bytes are parsed, a
    request that does not parse is ``INVALID_ARGUMENT``, the answer is built within the budget
    and counted until it was read, and only store errors leave it."""
    parse = METHODS[method].request.FromString

    async def answer(request: Message, peer: str, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        data = (await impl(request)).SerializeToString()
        size = len(data)
        if await budget.reserve(peer, size):
            # (the stubs declare a done callback as a class, not a protocol of callables)
            context.add_done_callback(lambda _: budget.release(peer, size))  # type: ignore[arg-type]
        return data

    async def handle(raw: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        started = time.perf_counter()
        if auth is not None and not auth.allows(context.invocation_metadata()):
            _log(method, None, grpc.StatusCode.UNAUTHENTICATED, started, None)
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid bearer token")
        thread_id: str | None = None
        error: ThreadStoreError
        caller_token.set(_writer_token(context.invocation_metadata()))
        try:
            try:
                request = parse(raw)
            except DecodeError as exc:
                raise InvalidRequest(f"malformed {method} request: {exc}") from None
            thread_id = getattr(request, "thread_id", "") or None
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s request: %s", method, text_format.MessageToString(request, as_one_line=True)[:2000])
            peer = context.peer()
            if builds_history(method, request):
                async with budget.history_build(peer):
                    response = await answer(request, peer, context)
            else:
                response = await answer(request, peer, context)
        except ThreadStoreError as exc:
            error = exc
        except asyncio.CancelledError:
            _log(method, thread_id, grpc.StatusCode.CANCELLED, started, None)
            raise
        except Exception as exc:  # a bug or a backend letting a foreign exception escape
            logger.exception("%s failed unexpectedly", method)
            error = Internal(f"{type(exc).__name__}: {exc}")
        else:
            _log(method, thread_id, grpc.StatusCode.OK, started, None)
            return response
        code = status_of(error, method)
        details = _bounded(str(error))
        _log(method, thread_id, code, started, details)
        await context.abort(code, details, trailing_metadata=error_metadata(error))

    return handle


def _bounded(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with anything UTF-8 cannot carry (lone surrogates a
    client sent, echoed back) escaped."""
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text)} characters)"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _generic_handler(service: ThreadStoreService, auth: _BearerAuth | None, budget: AnswerBudget) -> grpc.GenericRpcHandler:
    impls = service.handlers()
    handlers: dict[str, grpc.RpcMethodHandler[bytes, bytes]] = {
        # No (de)serializers: the handler parses the request itself, after the token check, and
        # serializes the answer itself, to count its bytes.
        name: grpc.unary_unary_rpc_method_handler(_wrap(name, impls[name], auth, budget))
        for name in METHODS
    }
    return grpc.method_handlers_generic_handler(SERVICE, handlers)


def split_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) as (host, port); raises ``InvalidRequest``."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise InvalidRequest(f"listen address must be HOST:PORT, got {listen!r}")
    return host or "0.0.0.0", int(port)


class RunningServer:
    """A started server: where it listens, and how to stop it."""

    def __init__(self, server: grpc.aio.Server, service: ThreadStoreService, host: str, port: int, tls: bool) -> None:
        self.server = server
        self.service = service
        self.host = host
        self.port = port
        self.tls = tls
        self._stopped = False

    @property
    def address(self) -> str:
        """``HOST:PORT`` as bound (the real port when 0 was asked for)."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The store URL clients use: ``grpc://HOST:PORT`` (``grpcs://`` with TLS)."""
        return f"{'grpcs' if self.tls else 'grpc'}://{self.address}"

    async def stop(self, grace: float | None = SHUTDOWN_GRACE_SECONDS, *, close_store: bool = True) -> None:
        """Stop accepting requests, let in-flight ones finish within ``grace`` seconds, then
        close the store (live threads are shut down and flushed). Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        await self.server.stop(grace)
        await self.service.stop()
        if close_store:
            await self.service.close()


async def start_server(
    listen: str,
    store: ThreadStore,
    *,
    token: str | None = None,
    tls: TlsFiles | None = None,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    default_model_provider: str = "",
    idle_writer_timeout: float | None = None,
    limits: ServerLimits | None = None,
) -> RunningServer:
    """Bind ``listen`` (``HOST:PORT``; port 0 picks a free one) and start serving ``store``
    within ``limits`` (default: :class:`~.limits.ServerLimits`)."""
    limits = limits or ServerLimits()
    host, _ = split_listen(listen)
    auth = _BearerAuth(token.encode("utf-8")) if token else None
    service = ThreadStoreService(
        store,
        default_model_provider=default_model_provider,
        idle_writer_timeout=idle_writer_timeout,
        held_limits=limits.held,
    )
    keepalive_ms = int(limits.keepalive * 1000)
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", -1),
            ("grpc.so_reuseport", 0),
            ("grpc.max_concurrent_streams", limits.max_streams),
            ("grpc.keepalive_time_ms", keepalive_ms),
            ("grpc.keepalive_timeout_ms", keepalive_ms),
            ("grpc.http2.max_pings_without_data", 0),
        ]
    )
    server.add_generic_rpc_handlers((_generic_handler(service, auth, AnswerBudget(limits.answers)),))
    try:
        if tls is not None:
            credentials = grpc.ssl_server_credentials([(tls.key.read_bytes(), tls.cert.read_bytes())])
            port = server.add_secure_port(listen, credentials)
        else:
            port = server.add_insecure_port(listen)
    except OSError as exc:
        raise InvalidRequest(f"cannot read TLS files: {exc}") from None
    except RuntimeError as exc:
        raise InvalidRequest(f"cannot listen on {listen}: {exc}") from None
    if port == 0:
        raise InvalidRequest(f"cannot listen on {listen}")
    await server.start()
    service.start()
    return RunningServer(server, service, host, port, tls is not None)


async def serve(
    listen: str,
    store: ThreadStore,
    *,
    token: str | None = None,
    tls: TlsFiles | None = None,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    default_model_provider: str = "",
    idle_writer_timeout: float | None = None,
    limits: ServerLimits | None = None,
    ready: Callable[[RunningServer], None] | None = None,
) -> None:
    """Serve ``store`` on ``listen`` until SIGINT or SIGTERM, then shut down gracefully
    (in-flight requests finish, live threads are flushed and closed). ``ready`` is called once
    the server accepts connections."""
    running = await start_server(
        listen,
        store,
        token=token,
        tls=tls,
        max_message_bytes=max_message_bytes,
        default_model_provider=default_model_provider,
        idle_writer_timeout=idle_writer_timeout,
        limits=limits,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        logger.info("listening on %s", running.address)
        if ready is not None:
            ready(running)
        await stop.wait()
        logger.info("shutting down: finishing requests and flushing live threads")
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await running.stop()
        logger.info("stopped")
