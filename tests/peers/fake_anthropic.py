"""A tiny offline stand-in for the Anthropic Messages API, good enough for the Claude Code CLI.

``POST /v1/messages`` answers ``echo: <last user text>`` (or what ``reply`` makes of the request
body) as a streamed Server-Sent Events response (``message_start``, ``content_block_start``,
``content_block_delta``, ``content_block_stop``, ``message_delta``, ``message_stop``), or as one
JSON message when the request does not ask for a stream. ``POST /v1/messages/count_tokens``
answers a small count; any other path gets an empty JSON object. Every request is recorded.

Only the standard library is used (``http.server``, one thread per connection), listening on
127.0.0.1 with an ephemeral port.

Usage::

    with FakeAnthropicServer() as server:
        env = {"ANTHROPIC_BASE_URL": server.base_url, "ANTHROPIC_API_KEY": "test"}
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

__all__ = ["FakeAnthropicServer", "RecordedRequest", "echo_reply", "last_user_text"]

JSON = dict[str, Any]
ReplyFn = Callable[[JSON], str]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    body: bytes

    @property
    def json_body(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


def last_user_text(body: JSON) -> str:
    """The text of the last user message of a Messages request (its text blocks joined)."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        texts = [b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]
        # The CLI prepends reminders (system-reminder blocks); the prompt is the last text.
        return texts[-1] if texts else ""
    return ""


def echo_reply(body: JSON) -> str:
    return f"echo: {last_user_text(body)}"


def _sse(event: str, data: JSON) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class FakeAnthropicServer:
    """The stand-in (see the module documentation); a context manager that starts and stops it."""

    def __init__(self, reply: ReplyFn = echo_reply) -> None:
        self.reply = reply
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def message_requests(self) -> list[JSON]:
        """The bodies of the ``/v1/messages`` requests so far."""
        with self._lock:
            return [r.json_body for r in self.requests if r.path.split("?")[0] == "/v1/messages"]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _json(self, status: int, value: Any) -> None:
                data = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                outer._record(RecordedRequest("GET", self.path, b""))
                self._json(200, {})

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                body = self._body()
                request = RecordedRequest("POST", self.path, body)
                outer._record(request)
                path = self.path.split("?")[0]
                if path.endswith("/count_tokens"):
                    self._json(200, {"input_tokens": 10})
                    return
                if not path.endswith("/v1/messages"):
                    self._json(200, {})
                    return
                parsed = request.json_body if isinstance(request.json_body, dict) else {}
                text = outer.reply(parsed)
                model = parsed.get("model") or "claude-test"
                message_id = f"msg_{uuid.uuid4().hex[:24]}"
                if not parsed.get("stream"):
                    self._json(200, _message(message_id, model, text))
                    return
                events = [
                    _sse("message_start", {"type": "message_start", "message": {**_message(message_id, model, ""),
                                                                                "content": [], "stop_reason": None}}),
                    _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                                 "content_block": {"type": "text", "text": ""}}),
                    _sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                 "delta": {"type": "text_delta", "text": text}}),
                    _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
                    _sse("message_delta", {"type": "message_delta",
                                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                           "usage": {"output_tokens": 5}}),
                    _sse("message_stop", {"type": "message_stop"}),
                ]
                data = b"".join(events)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _message(message_id: str, model: str, text: str) -> JSON:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0},
    }
