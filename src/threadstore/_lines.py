"""Read lines of a blocking stream (stdin) from asyncio code."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import IO, AnyStr, Generic

__all__ = ["LineReader"]


class LineReader(Generic[AnyStr]):
    """Lines of a stream, read by a daemon thread so that waiting for input blocks neither the
    event loop nor the process's exit. :meth:`readline` returns None at the end of input."""

    def __init__(self, stream: IO[AnyStr], name: str = "threadstore-stdin") -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[AnyStr | None] = asyncio.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True, name=name).start()

    def _pump(self, stream: IO[AnyStr]) -> None:
        try:
            for line in stream:
                self._loop.call_soon_threadsafe(self._queue.put_nowait, line)
        except (OSError, ValueError, RuntimeError):  # a closed stream, or the loop is gone
            pass
        finally:
            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    async def readline(self) -> AnyStr | None:
        return await self._queue.get()
