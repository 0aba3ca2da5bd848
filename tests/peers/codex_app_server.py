"""A minimal client for ``codex app-server`` over stdio (JSON-RPC: one JSON object per line, no
``"jsonrpc"`` member)."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

__all__ = ["JSON", "AppServerClient", "AppServerError"]

JSON = dict[str, Any]


class AppServerError(RuntimeError):
    """A JSON-RPC error answer from ``codex app-server``."""

    def __init__(self, method: str, error: JSON) -> None:
        self.method = method
        self.error = error
        super().__init__(f"{method}: {error.get('code')} {error.get('message')}")


class AppServerClient:
    """A minimal client for ``codex app-server`` over stdio."""

    def __init__(self, command: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> None:
        self.command = list(command)
        self.cwd = cwd
        self.env = dict(env)
        self.notifications: list[JSON] = []
        """Server notifications received so far (``{"method", "params"}``)."""
        self.server_requests: list[JSON] = []
        """Server-to-client requests received so far (answered with an error)."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._responses: dict[int, queue.Queue[JSON]] = {}
        self._lock = threading.Lock()
        self._next_id = 0
        self._stderr_chunks: list[bytes] = []
        self._threads: list[threading.Thread] = []

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._proc is not None:
            return self
        self._proc = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if self._proc.stdout is None or self._proc.stderr is None:
            raise RuntimeError("app-server pipes were not created")
        readers = ((self._read_stdout, self._proc.stdout), (self._read_stderr, self._proc.stderr))
        for target, stream in readers:
            thread = threading.Thread(target=target, args=(stream,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close(self, timeout: float = 10.0) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        if proc.stdin is not None and not proc.stdin.closed:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for thread in self._threads:
            thread.join(timeout=5)
        return proc.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr_chunks).decode("utf-8", "replace")

    # plumbing --------------------------------------------------------------------------------

    def _read_stdout(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.strip()
            if not line:
                continue
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if "method" in message and "id" in message:
                self.server_requests.append(message)
                self._send(
                    {
                        "id": message["id"],
                        "error": {"code": -32601, "message": "not supported by test client"},
                    }
                )
            elif "method" in message:
                self.notifications.append(message)
            elif "id" in message:
                with self._lock:
                    waiter = self._responses.get(message["id"])
                if waiter is not None:
                    waiter.put(message)
        with self._lock:
            waiters = list(self._responses.values())
        for waiter in waiters:
            waiter.put({"error": {"code": -1, "message": "app-server closed stdout"}})

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self._stderr_chunks.append(raw)

    def _send(self, message: JSON) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise RuntimeError("app-server not started")
        data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            proc.stdin.write(data)
            proc.stdin.flush()

    # JSON-RPC ----------------------------------------------------------------------------------

    def notify(self, method: str, params: JSON | None = None) -> None:
        message: JSON = {"method": method}
        if params is not None:
            message["params"] = params
        self._send(message)

    def request(self, method: str, params: JSON | None = None, *, timeout: float = 60.0) -> Any:
        """Send a request and wait for its answer; raises :class:`AppServerError` on error."""
        with self._lock:
            request_id = self._next_id
            self._next_id += 1
            waiter: queue.Queue[JSON] = queue.Queue()
            self._responses[request_id] = waiter
        message: JSON = {"method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        self._send(message)
        try:
            answer = waiter.get(timeout=timeout)
        except queue.Empty as exc:
            raise TimeoutError(
                f"app-server gave no answer to {method} in {timeout}s; stderr:\n{self.stderr[-4000:]}"
            ) from exc
        finally:
            with self._lock:
                self._responses.pop(request_id, None)
        if "error" in answer:
            error = answer["error"]
            raise AppServerError(method, error if isinstance(error, dict) else {"message": error})
        return answer.get("result")

    def initialize(
        self,
        *,
        client_name: str = "threadstore_tests",
        version: str = "0.0.0",
        experimental_api: bool = False,
        timeout: float = 60.0,
    ) -> JSON:
        """``initialize`` with ``clientInfo`` followed by the ``initialized`` notification."""
        params: JSON = {"clientInfo": {"name": client_name, "title": "threadstore tests", "version": version}}
        if experimental_api:
            params["capabilities"] = {"experimentalApi": True}
        result = self.request("initialize", params, timeout=timeout)
        self.notify("initialized")
        return dict(result or {})

    def thread_list(self, *, timeout: float = 60.0, **params: Any) -> JSON:
        """``thread/list`` (camelCase params such as ``limit``, ``sourceKinds``, ``archived``)."""
        return dict(self.request("thread/list", params, timeout=timeout) or {})

    def thread_read(self, thread_id: str, *, include_turns: bool = True, timeout: float = 60.0) -> JSON:
        return dict(
            self.request(
                "thread/read",
                {"threadId": thread_id, "includeTurns": include_turns},
                timeout=timeout,
            )
            or {}
        )
