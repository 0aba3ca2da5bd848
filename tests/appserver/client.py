"""Test clients of the app server: one drives ``threadstore app-server`` as a subprocess over
stdin/stdout, the other an in-process :class:`AppServer` over queues. Every read has a deadline,
so a server that stops answering fails the test instead of hanging it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from threadstore._appserver import AppServer, QueueTransport
from threadstore._appserver.hub import DEFAULT_IDLE_UNLOAD_DELAY
from threadstore._runtime import ThreadManager

Message = dict[str, Any]
DEFAULT_TIMEOUT = 10.0


class _Mailbox:
    """Messages read but not consumed yet, in arrival order."""

    def __init__(self) -> None:
        self.backlog: list[Message] = []
        self.ids = itertools.count(1)

    def take(self, predicate: Callable[[Message], bool]) -> Message | None:
        for index, message in enumerate(self.backlog):
            if predicate(message):
                return self.backlog.pop(index)
        return None


def is_response(request_id: Any) -> Callable[[Message], bool]:
    return lambda m: "method" not in m and m.get("id") == request_id


def is_notification(method: str) -> Callable[[Message], bool]:
    return lambda m: m.get("method") == method and "id" not in m


class StdioClient:
    """``python -m threadstore._cli --store URL app-server`` driven through its pipes."""

    def __init__(self, store_url: str, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("THREADSTORE_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "threadstore", "--store", store_url, "app-server", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._stderr: list[bytes] = []
        self.box = _Mailbox()
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # bytes lines: split on b"\n" only
            self._lines.put(line)
        self._lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode(errors="replace")

    # -- sending -----------------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: Message) -> None:
        self.send_raw(json.dumps(message).encode() + b"\n")

    def request(self, method: str, params: Any = None) -> int:
        request_id = next(self.box.ids)
        message: Message = {"id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return request_id

    # -- receiving ---------------------------------------------------------------------------------

    def _read(self, deadline: float) -> Message:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no message from the app server in time; stderr:\n{self.stderr}")
        try:
            line = self._lines.get(timeout=remaining)
        except queue.Empty:
            raise AssertionError(f"no message from the app server in time; stderr:\n{self.stderr}") from None
        if line is None:
            self._lines.put(None)
            raise AssertionError(f"the app server closed stdout; stderr:\n{self.stderr}")
        value = json.loads(line)
        assert isinstance(value, dict)
        assert "jsonrpc" not in value
        return value

    def wait(self, predicate: Callable[[Message], bool], timeout: float = DEFAULT_TIMEOUT) -> Message:
        found = self.box.take(predicate)
        deadline = time.monotonic() + timeout
        while found is None:
            message = self._read(deadline)
            if predicate(message):
                return message
            self.box.backlog.append(message)
        return found

    def response(self, request_id: int, timeout: float = DEFAULT_TIMEOUT) -> Message:
        return self.wait(is_response(request_id), timeout)

    def call(self, method: str, params: Any = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Send a request and return its result (fails the test on an error answer)."""
        answer = self.response(self.request(method, params), timeout)
        assert "error" not in answer, answer
        return answer["result"]

    def error(self, method: str, params: Any = None, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Send a request that must fail; return its error object."""
        answer = self.response(self.request(method, params), timeout)
        assert "error" in answer, answer
        error = answer["error"]
        assert isinstance(error, dict)
        return error

    def notification(self, method: str, timeout: float = DEFAULT_TIMEOUT) -> Message:
        return self.wait(is_notification(method), timeout)

    def until(self, predicate: Callable[[Message], bool], timeout: float = DEFAULT_TIMEOUT) -> list[Message]:
        """Every message (backlog first) up to and including the first that matches."""
        out: list[Message] = []
        deadline = time.monotonic() + timeout
        while True:
            message = self.box.backlog.pop(0) if self.box.backlog else self._read(deadline)
            out.append(message)
            if predicate(message):
                return out

    def initialize(self) -> Any:
        result = self.call("initialize", {"clientInfo": {"name": "tests", "title": "Tests", "version": "1.0"}})
        self.send({"method": "initialized"})
        return result

    def close(self, timeout: float = 20.0) -> int:
        """Close stdin and wait for the exit status (kills the process if it does not stop)."""
        assert self.proc.stdin is not None
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"the app server did not exit at end of input; stderr:\n{self.stderr}") from None

    def __enter__(self) -> StdioClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(AssertionError):
                self.close(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


class InProcessClient:
    """An :class:`AppServer` over queues in this event loop (for injecting a test model)."""

    def __init__(self, manager: ThreadManager, *, idle_unload_delay: float = DEFAULT_IDLE_UNLOAD_DELAY) -> None:
        self.transport = QueueTransport()
        self.server = AppServer(manager, self.transport, shutdown_timeout=5.0, idle_unload_delay=idle_unload_delay)
        self.task = asyncio.create_task(self.server.serve())
        self.box = _Mailbox()

    def request(self, method: str, params: Any = None) -> int:
        request_id = next(self.box.ids)
        message: Message = {"id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.transport.feed(json.dumps(message).encode() + b"\n")
        return request_id

    async def wait(self, predicate: Callable[[Message], bool], seconds: float = DEFAULT_TIMEOUT) -> Message:
        found = self.box.take(predicate)
        async with asyncio.timeout(seconds):
            while found is None:
                message = await self.transport.outgoing.get()
                if predicate(message):
                    return message
                self.box.backlog.append(message)
        return found

    async def call(self, method: str, params: Any = None) -> Any:
        answer = await self.wait(is_response(self.request(method, params)))
        assert "error" not in answer, answer
        return answer["result"]

    async def error(self, method: str, params: Any = None) -> dict[str, Any]:
        answer = await self.wait(is_response(self.request(method, params)))
        assert "error" in answer, answer
        error = answer["error"]
        assert isinstance(error, dict)
        return error

    async def notification(self, method: str, seconds: float = DEFAULT_TIMEOUT) -> Message:
        return await self.wait(is_notification(method), seconds)

    async def close(self, seconds: float = 15.0) -> None:
        self.transport.feed(None)
        async with asyncio.timeout(seconds):
            await self.task
