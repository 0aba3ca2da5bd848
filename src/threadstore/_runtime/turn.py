"""One turn's state and sampling: a model request streamed to completion, interruptible at any
point, and the input steered into the turn while it runs.

:func:`sample` runs the model's stream in its own task so that :meth:`Turn.interrupt` (an
``interrupt`` or ``shutdown`` op) can cancel it while it waits for the model; text deltas are
handed to the caller as they arrive (they are delivered, never persisted).

Steering: :meth:`Turn.steer` queues input for the running turn; the session takes it with
:meth:`Turn.take_steered` after each model answer and, when there is some, records it and asks
the model again within the same turn. The first time nothing is left to take, the turn stops
accepting input (it is about to end), so steered input is never lost between the last check and
the end of the turn; input steered into a turn that is then interrupted is dropped, like queued
input.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from threadstore._ids import new_thread_id
from threadstore._runtime.errors import ModelError
from threadstore._runtime.models.base import ModelClient, ModelCompleted, ModelRequest, TextDelta
from threadstore._runtime.protocol import UserInput

__all__ = ["Interrupted", "Turn", "sample"]


class Interrupted(Exception):
    """The turn was interrupted before the model answered."""


@dataclass
class Turn:
    """A running turn: the submission it answers, its id, and whether it was interrupted."""

    sub_id: str
    turn_id: str = field(default_factory=new_thread_id)
    started: float = field(default_factory=time.monotonic)
    #: When the turn started, in seconds since the Unix epoch.
    started_at: int = field(default_factory=lambda: int(time.time()))
    interrupted: bool = False
    finished: bool = False
    stream_task: asyncio.Task[ModelCompleted] | None = None
    steered: list[UserInput] = field(default_factory=list)
    closed_to_input: bool = False

    @property
    def steerable(self) -> bool:
        """True while input steered now would still reach the model in this turn."""
        return not (self.finished or self.interrupted or self.closed_to_input)

    def steer(self, user: UserInput) -> None:
        self.steered.append(user)

    def take_steered(self) -> list[UserInput]:
        """The input steered since the last call (oldest first); when there is none, the turn
        stops accepting more."""
        taken, self.steered = self.steered, []
        if not taken:
            self.closed_to_input = True
        return taken

    def interrupt(self) -> None:
        self.interrupted = True
        if self.stream_task is not None:
            self.stream_task.cancel()

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)


async def sample(
    model: ModelClient, turn: Turn, request: ModelRequest, on_delta: Callable[[str], None]
) -> ModelCompleted:
    """The model's final answer to ``request``; raises :class:`Interrupted` when the turn was
    interrupted first and :class:`ModelError` when the model failed."""
    if turn.interrupted:
        raise Interrupted
    task = asyncio.create_task(_stream(model, request, on_delta))
    turn.stream_task = task
    try:
        await asyncio.wait({task})
    finally:
        if not task.done():
            task.cancel()
    if task.cancelled():
        raise Interrupted
    return task.result()


async def _stream(model: ModelClient, request: ModelRequest, on_delta: Callable[[str], None]) -> ModelCompleted:
    completed: ModelCompleted | None = None
    stream = model.stream(request)
    try:
        async for event in stream:
            if isinstance(event, TextDelta):
                on_delta(event.text)
            elif isinstance(event, ModelCompleted):
                completed = event
                break
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    if completed is None:
        raise ModelError("the model stream ended without a final answer", kind="response_stream_disconnected")
    return completed
