"""The per-connection limits, one at a time: requests in flight (the next line is read only once
one is answered) and output left unread (past the limit no request is read; past twice the
limit, or after the stall timeout, the connection is aborted and its queue dropped)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from threadstore._appserver.connection import Connection
from threadstore._appserver.dispatcher import Dispatcher
from threadstore._appserver.framing import Request
from threadstore._appserver.limits import ConnectionLimits
from threadstore._appserver.transport import QueuedWriter, Transport


class _NeverRead(QueuedWriter):
    """A writer whose peer reads nothing: every write waits forever."""

    async def write(self, data: bytes) -> None:
        await asyncio.Event().wait()


class _Lines(Transport):
    """Requests ready to read, counted as they are read; output goes to a :class:`_NeverRead`."""

    def __init__(self, lines: int, limits: ConnectionLimits) -> None:
        self.pending = [json.dumps({"id": n, "method": "m"}).encode() for n in range(lines)]
        self.read = 0
        self.aborted = False
        self.writer = _NeverRead(limits, self.abort)

    async def read_line(self) -> bytes | None:
        await asyncio.sleep(0)  # as a socket read does, it lets the handlers run
        if self.aborted:
            return None
        if not self.pending:
            await asyncio.sleep(3600)
        self.read += 1
        return self.pending.pop(0)

    def send(self, message: dict[str, Any]) -> None:
        self.writer.send(message)

    async def drain(self) -> None:
        return None

    async def wait_writable(self) -> bool:
        return await self.writer.wait_writable()

    def abort(self) -> None:
        self.aborted = True


class _Gated:
    """A dispatcher whose requests wait for :attr:`gate`, then answer ``size`` bytes each."""

    def __init__(self, size: int = 10) -> None:
        self.gate = asyncio.Event()
        self.size = size

    async def handle(self, member: Connection, request: Request) -> None:
        await self.gate.wait()
        member.outbox.respond(request.id, "x" * self.size)


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_requests_in_flight_hold_back_the_next_line() -> None:
    limits = ConnectionLimits(max_in_flight=3, max_queued_bytes=1 << 20, stall_timeout=30)
    transport, dispatcher = _Lines(10, limits), _Gated()
    connection = Connection(transport, cast(Dispatcher, dispatcher), limits)
    reading = asyncio.create_task(connection.read_until_closed())
    await _settle()
    assert transport.read == 3  # the fourth waits for an answer
    dispatcher.gate.set()
    await _settle()
    assert transport.read == 10
    reading.cancel()


async def test_unread_output_stops_reading_then_disconnects() -> None:
    limits = ConnectionLimits(max_in_flight=64, max_queued_bytes=1000, stall_timeout=0.2)
    transport, dispatcher = _Lines(50, limits), _Gated(size=400)
    dispatcher.gate.set()
    connection = Connection(transport, cast(Dispatcher, dispatcher), limits)
    await asyncio.wait_for(connection.read_until_closed(), 5)  # returns: the client was dropped
    assert transport.aborted
    assert transport.writer.broken
    assert transport.writer.queued == 0  # its queue was dropped
    # The third answer put 1,200 bytes in the queue while the fourth line was read: no fifth was.
    assert transport.read == 4


async def test_output_past_twice_the_limit_disconnects_at_once() -> None:
    limits = ConnectionLimits(max_queued_bytes=1000, stall_timeout=3600)
    transport = _Lines(0, limits)
    for n in range(6):
        transport.send({"method": "note", "params": "x" * 400, "n": n})
    assert transport.aborted
    assert transport.writer.broken
    assert transport.writer.queued == 0
    transport.send({"method": "note"})  # dropped: nothing more is queued
    assert transport.writer.queued == 0
    await _settle()
