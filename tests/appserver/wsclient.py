"""A WebSocket test client of ``threadstore app-server --listen ws://…`` and a runner for that
process. Every read has a deadline, so a server that stops answering fails the test instead of
hanging it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from .client import DEFAULT_TIMEOUT, is_notification, is_response

Message = dict[str, Any]


class WsClient:
    """One WebSocket connection speaking JSON-RPC, with a backlog of unread messages."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.backlog: list[Message] = []
        self._ids = itertools.count(1)

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, url: str, token: str | None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else None
        async with connect(url, additional_headers=headers, open_timeout=DEFAULT_TIMEOUT) as connection:
            yield cls(connection)

    async def send(self, message: Message) -> None:
        await self.connection.send(json.dumps(message))

    async def request(self, method: str, params: Any = None) -> int:
        request_id = next(self._ids)
        message: Message = {"id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        await self.send(message)
        return request_id

    async def _read(self) -> Message:
        frame = await asyncio.wait_for(self.connection.recv(), DEFAULT_TIMEOUT)
        value = json.loads(frame)
        assert isinstance(value, dict)
        return value

    async def wait(self, predicate: Callable[[Message], bool]) -> Message:
        for index, message in enumerate(self.backlog):
            if predicate(message):
                return self.backlog.pop(index)
        while True:
            message = await self._read()
            if predicate(message):
                return message
            self.backlog.append(message)

    async def call(self, method: str, params: Any = None) -> Any:
        answer = await self.wait(is_response(await self.request(method, params)))
        assert "error" not in answer, answer
        return answer["result"]

    async def error(self, method: str, params: Any = None) -> dict[str, Any]:
        answer = await self.wait(is_response(await self.request(method, params)))
        assert "error" in answer, answer
        return dict(answer["error"])

    async def notification(self, method: str) -> Message:
        return await self.wait(is_notification(method))

    async def received_so_far(self) -> list[Message]:
        """Every message the server sent this connection before answering a new request (the
        server writes a connection's messages in the order it queued them)."""
        request_id = await self.request("thread/loaded/list")
        while True:
            message = await self._read()
            if is_response(request_id)(message):
                seen, self.backlog = self.backlog, []
                return seen
            self.backlog.append(message)

    async def initialize(self) -> None:
        await self.call("initialize", {"clientInfo": {"name": "ws-tests", "version": "1"}})
        await self.send({"method": "initialized"})


_LISTENING = re.compile(r"listening on (ws://\S+)")


@contextlib.contextmanager
def app_server_process(home: Path, *args: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``threadstore --store local:HOME app-server --listen ws://127.0.0.1:0 ARGS``; yields its URL
    and process; stops it with SIGTERM at the end (killing it if it does not stop)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADSTORE_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "threadstore",
            "--store",
            f"local:{home}",
            "app-server",
            "--listen",
            "ws://127.0.0.1:0",
            *args,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    found: list[str] = []
    ready = threading.Event()
    lines: list[str] = []

    def pump() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode(errors="replace")
            lines.append(line)
            match = _LISTENING.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        if not ready.wait(DEFAULT_TIMEOUT * 3) or not found:
            raise AssertionError("the app server did not start: " + "".join(lines))
        yield found[0], proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
