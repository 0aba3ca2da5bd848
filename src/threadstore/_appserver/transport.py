"""Transports: where incoming messages come from and where outgoing messages go.

A :class:`Transport` yields incoming messages as lines of bytes (``None`` at end of input) and
queues outgoing messages. Outgoing messages are written by one writer task
(:class:`QueuedWriter`) in the order they were queued, so a response queued before a
notification is always written before it. :class:`StdioTransport` reads a binary stream in a
daemon thread (waiting for input never blocks the event loop nor the process's exit) and writes
each message as one line, flushed. :class:`QueueTransport` is the in-process variant (tests,
embedding); :mod:`.websocket` has the WebSocket one. Writing to a peer that is gone drops the
message (and every later one) with a warning; it never fails the sender.

The queue of a :class:`QueuedWriter` is bounded as :mod:`.limits` says: past its limit the
connection is told to read no more requests (:meth:`Transport.wait_writable`), and past twice its
limit the writer drops its queue and aborts the transport (:meth:`Transport.abort`).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, BinaryIO, Final

from threadstore._appserver.framing import encode
from threadstore._appserver.limits import DEFAULT_LIMITS, ConnectionLimits
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

    async def wait_writable(self) -> bool:
        """Wait until the output queued is down to where more requests may be read; False when
        the client was disconnected instead, for leaving it unread (see :mod:`.limits`)."""
        return True

    def abort(self) -> None:
        """Drop the connection at once (a client that does not read its output)."""


class QueuedWriter:
    """Writes queued messages in order from one task (started lazily on the running loop),
    within ``limits`` (see the module documentation); ``on_overflow`` aborts the transport."""

    def __init__(self, limits: ConnectionLimits = DEFAULT_LIMITS, on_overflow: Callable[[], None] | None = None) -> None:
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.broken = False
        self.limits = limits
        self.on_overflow = on_overflow
        #: Bytes queued and not written yet.
        self.queued = 0
        self._low = asyncio.Event()
        self._low.set()

    def send(self, message: dict[str, Any]) -> None:
        if self.broken:
            return
        data = encode(message)
        self._queue.put_nowait(data)
        self.queued += len(data)
        if self.queued > self.limits.max_queued_bytes:
            self._low.clear()
            if self.queued > 2 * self.limits.max_queued_bytes:
                self.overflow(f"its client left {self.queued} bytes of output unread")
                return
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="threadstore-appserver-writer")

    def overflow(self, why: str) -> None:
        """Drop everything queued, write nothing more and abort the transport."""
        if self.broken:
            return
        logger.warning("disconnecting a client: %s", why)
        self.broken = True
        while not self._queue.empty():
            self._queue.get_nowait()
            self._queue.task_done()
        self.queued = 0
        self._low.set()
        if self.on_overflow is not None:
            self.on_overflow()

    async def wait_writable(self) -> bool:
        if self._low.is_set():
            return not self.broken
        patience = self.limits.stall_timeout
        try:
            await asyncio.wait_for(self._low.wait(), patience)
        except TimeoutError:
            self.overflow(f"its client did not read its output for {patience:g} s")
            return False
        return not self.broken

    async def _run(self) -> None:
        while True:
            data = await self._queue.get()
            try:
                if not self.broken:
                    await self.write(data)
            except (OSError, ValueError) as exc:
                logger.warning("cannot write to the client (%s); dropping further output", exc)
                self.broken = True
            finally:
                self.queued = max(0, self.queued - len(data)) if not self.broken else 0
                if self.queued <= self.limits.max_queued_bytes // 2:
                    self._low.set()
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
    """Newline-delimited JSON over a pair of binary streams (stdin/stdout by default). Aborted
    (its client does not read stdout), it reads no more input: the server then stops."""

    def __init__(self, stdin: BinaryIO, stdout: BinaryIO, limits: ConnectionLimits = DEFAULT_LIMITS) -> None:
        self._lines = LineReader(stdin, "threadstore-appserver-stdin")
        self._writer = _StreamWriter(stdout, limits, self.abort)
        self._aborted = False

    async def read_line(self) -> bytes | None:
        return None if self._aborted else await self._lines.readline()

    def send(self, message: dict[str, Any]) -> None:
        self._writer.send(message)

    async def drain(self) -> None:
        await self._writer.drain()

    async def wait_writable(self) -> bool:
        return await self._writer.wait_writable()

    def abort(self) -> None:
        self._aborted = True

    async def close(self) -> None:
        await self._writer.stop()


class _StreamWriter(QueuedWriter):
    def __init__(self, stream: BinaryIO, limits: ConnectionLimits, on_overflow: Callable[[], None]) -> None:
        super().__init__(limits, on_overflow)
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
