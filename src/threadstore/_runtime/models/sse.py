"""A Server-Sent Events parser for streamed HTTP responses."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

__all__ = ["SSEEvent", "parse_sse"]


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its ``event:`` name (``"message"`` by default) and joined data."""

    event: str
    data: str


async def parse_sse(lines: AsyncIterable[str]) -> AsyncIterator[SSEEvent]:
    """Events of an SSE stream given as lines (without their line endings).

    Follows the HTML living standard's rules: ``data:`` lines accumulate (joined by newlines), a
    blank line dispatches, comment lines (``:``) and unknown fields are ignored, one space after
    the colon is dropped. A final event without a trailing blank line is dispatched too.
    """
    name = ""
    data: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                yield SSEEvent(name or "message", "\n".join(data))
            name, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if data:
        yield SSEEvent(name or "message", "\n".join(data))
