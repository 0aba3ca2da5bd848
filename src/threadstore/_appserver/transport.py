"""Transports: where incoming messages come from and where outgoing messages go.

A :class:`Transport` yields incoming messages as lines of bytes (``None`` at end of input) and
queues outgoing messages. Outgoing messages are written by one writer task
(:class:`QueuedWriter`) in the order they were queued, so a response queued before a
notification is always written before it. :class:`StdioTransport` reads a binary stream in a
daemon thread (waiting for input never blocks the event loop nor the process's exit) and writes
each message as one line, flushed. :class:`QueueTransport` is the in-process variant (tests,
embedding); :mod:`.websocket` has the WebSocket one. Writing to a peer that is gone drops the
message (and every later one) with a warning; it never fails the sender.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from typing import Any, BinaryIO, Final

from threadstore._appserver.framing import encode
from threadstore._lines import LineReader

__all__ = ["QueueTransport", "QueuedWriter", "StdioTransport", "Transport"]

logger: Final = logging.getLogger("threadstore.appserver")


class Transport(abc.ABC):
    """Incoming lines and outgoing messages of one connection."""

    @abc.abstractmethod
    async def read_line(self) -> bytes | None:
        """The next incoming line, or ``None`` once input has ended."""

    @abc.abstractmethod
    def send(self, message: dict[str, Any]) -> None:
        """Queue one message; messages are written in the order they were queued."""

    @abc.abstractmethod
    async def drain(self) -> None:
        """Wait until every queued message has been written."""

    async def close(self) -> None:
        """Write what is queued and release the transport."""
        await self.drain()


class QueuedWriter:
    """Writes queued messages in order from one task (started lazily on the running loop)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.broken = False

    def send(self, message: dict[str, Any]) -> None:
        if self.broken:
            return
        self._queue.put_nowait(encode(message))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="threadstore-appserver-writer")

    async def _run(self) -> None:
        while True:
            data = await self._queue.get()
            try:
                await self.write(data)
            except (OSError, ValueError) as exc:
                logger.warning("cannot write to the client (%s); dropping further output", exc)
                self.broken = True
            finally:
                self._queue.task_done()

    async def write(self, data: bytes) -> None:
        raise NotImplementedError

    async def drain(self) -> None:
        await self._queue.join()

    async def stop(self) -> None:
        await self.drain()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class StdioTransport(Transport):
    """Newline-delimited JSON over a pair of binary streams (stdin/stdout by default)."""

    def __init__(self, stdin: BinaryIO, stdout: BinaryIO) -> None:
        self._lines = LineReader(stdin, "threadstore-appserver-stdin")
        self._writer = _StreamWriter(stdout)

    async def read_line(self) -> bytes | None:
        return await self._lines.readline()

    def send(self, message: dict[str, Any]) -> None:
        self._writer.send(message)

    async def drain(self) -> None:
        await self._writer.drain()

    async def close(self) -> None:
        await self._writer.stop()


class _StreamWriter(QueuedWriter):
    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream

    async def write(self, data: bytes) -> None:
        # In a worker thread: a slow reader on the other end must not stall the event loop.
        await asyncio.to_thread(self._write_sync, data)

    def _write_sync(self, data: bytes) -> None:
        self._stream.write(data)
        self._stream.flush()


class QueueTransport(Transport):
    """An in-process transport: the peer puts lines with :meth:`feed` (``None`` ends input) and
    reads the server's messages (decoded dicts) from :attr:`outgoing`."""

    def __init__(self) -> None:
        self._lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def feed(self, line: bytes | None) -> None:
        self._lines.put_nowait(line)

    async def read_line(self) -> bytes | None:
        return await self._lines.get()

    def send(self, message: dict[str, Any]) -> None:
        # Round-trip through the wire encoding so in-process tests see exactly what stdio sends.
        from threadstore import _json

        self.outgoing.put_nowait(_json.loads(encode(message)))

    async def drain(self) -> None:
        return None
