"""A tiny offline stand-in for the OpenAI Responses API, good enough for the Codex CLI.

It answers ``POST {base_url}/responses`` (streaming or not) with ``echo: <last user text>``
as a Server-Sent Events stream in the Responses format, answers the few other endpoints a
client may call at startup (``GET /models`` and friends) with harmless JSON, and records every
request it receives so tests can assert on what the client sent.

Only the standard library is used: ``http.server`` with one thread per connection, HTTP/1.1
keep-alive, and either chunked (default) or close-delimited SSE bodies. The answers themselves are
built in ``responses_events.py``.

Usage::

    with FakeResponsesServer() as server:
        run_client(base_url=server.base_url)       # e.g. "http://127.0.0.1:43123/v1"
        assert server.response_requests()[0].json_body["stream"] is True

``python -m tests.peers.fake_responses [PORT]`` serves one by hand.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from .responses_events import JSON, build_response_events, build_response_object, echo_reply, last_user_text

__all__ = ["FakeResponsesServer", "RecordedRequest"]

ReplyFn = Callable[[JSON], str]


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the fake server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.time)

    @property
    def json_body(self) -> Any:
        """The body parsed as JSON (``None`` when empty or not JSON)."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    # ``BaseHTTPRequestHandler`` logs to stderr; keep test output clean.
    def log_message(self, format: str, *args: Any) -> None:
        return

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Trailer section ends with an empty line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            raw = b"".join(chunks)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
        encoding = self.headers.get("Content-Encoding", "").lower()
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        return raw

    def _record(self, body: bytes) -> RecordedRequest:
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
        )
        self.server.owner._record(request)
        return request

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _route(self) -> str:
        path = self.path.split("?", 1)[0].rstrip("/")
        prefix = self.server.owner.path_prefix
        if prefix and path.startswith(prefix):
            path = path[len(prefix) :]
        return path or "/"

    def do_GET(self) -> None:
        self._record(b"")
        route = self._route()
        if self.headers.get("Upgrade", "").lower() == "websocket":
            # No websocket transport here: clients fall back to HTTP streaming.
            self._send_json(426, {"error": {"message": "websockets not supported"}})
        elif route == "/models":
            self._send_json(200, {"object": "list", "data": [], "models": []})
        elif route in ("/", "/health", "/healthz", "/readyz"):
            self._send_json(200, {"ok": True})
        else:
            self._send_json(404, {"error": {"message": f"no route for GET {route}"}})

    def do_HEAD(self) -> None:
        self._record(b"")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_DELETE(self) -> None:
        self._record(b"")
        self._send_json(200, {"deleted": True})

    def do_POST(self) -> None:
        try:
            body = self._read_body()
        except (OSError, ValueError, zlib.error) as exc:
            self._send_json(400, {"error": {"message": f"unreadable body: {exc}"}})
            return
        request = self._record(body)
        route = self._route()
        if route != "/responses":
            self._send_json(404, {"error": {"message": f"no route for POST {route}"}})
            return
        payload = request.json_body
        if not isinstance(payload, dict):
            self._send_json(400, {"error": {"message": "body must be a JSON object"}})
            return
        reply = self.server.owner.reply(payload)
        if payload.get("stream"):
            self._stream(build_response_events(payload, reply))
        else:
            self._send_json(200, build_response_object(payload, reply))

    def _stream(self, events: list[JSON]) -> None:
        chunked = self.server.owner.chunked
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        for event in events:
            frame = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
            if chunked:
                self.wfile.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
            else:
                self.wfile.write(frame)
            self.wfile.flush()
            if self.server.owner.delay_between_events:
                time.sleep(self.server.owner.delay_between_events)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: FakeResponsesServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-stream (tests that cut streams on purpose, a killed Codex) is
        # expected here; record it instead of printing a traceback into the test output.
        import sys

        self.owner.connection_errors.append(repr(sys.exc_info()[1]))


class FakeResponsesServer:
    """A local Responses API on 127.0.0.1 with an ephemeral port.

    ``base_url`` ends in ``path_prefix`` (``/v1`` by default), so it can be used as a model
    provider's ``base_url`` as is. ``reply`` maps a request body to the answer text.
    ``chunked=False`` sends close-delimited SSE instead of chunked transfer encoding.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path_prefix: str = "/v1",
        reply: ReplyFn = echo_reply,
        chunked: bool = True,
        delay_between_events: float = 0.0,
    ) -> None:
        self.host = host
        self.port = port
        self.path_prefix = path_prefix.rstrip("/")
        self.reply = reply
        self.chunked = chunked
        self.delay_between_events = delay_between_events
        self._requests: list[RecordedRequest] = []
        #: Errors of connections the client dropped (not printed; inspect them if needed).
        self.connection_errors: list[str] = []
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return f"http://{self.host}:{self.port}{self.path_prefix}"

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self.port), self)
        self.port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-responses-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd = None
        self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def response_requests(self) -> list[RecordedRequest]:
        """Only the ``POST .../responses`` requests."""
        return [
            r
            for r in self.requests
            if r.method == "POST" and r.path.split("?", 1)[0].rstrip("/").endswith("/responses")
        ]

    def iter_user_texts(self) -> Iterator[str]:
        """The last user text of every ``/responses`` request, in order."""
        for request in self.response_requests():
            body = request.json_body
            if isinstance(body, dict):
                yield last_user_text(body)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    with FakeResponsesServer(port=port) as srv:
        print(srv.base_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
