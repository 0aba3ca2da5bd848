"""``BuiltinModel``: an offline, deterministic model for demos and tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from threadstore._contract.types import TokenUsage
from threadstore._runtime.models.base import (
    ModelClient,
    ModelCompleted,
    ModelEvent,
    ModelRequest,
    TextDelta,
    last_user_text,
)

__all__ = ["BuiltinModel"]


class BuiltinModel(ModelClient):
    """Answers ``echo: <last user text>`` in ``pieces`` deltas, waiting ``delay`` seconds before
    each one (so tests can interrupt a turn mid-stream). Token usage is a rough estimate (four
    characters a token), cumulative totals are the session's job."""

    provider_id = "builtin"
    default_model = "threadstore-echo"
    context_window = None

    def __init__(self, *, prefix: str = "echo: ", pieces: int = 3, delay: float = 0.0) -> None:
        self.prefix = prefix
        self.pieces = max(1, pieces)
        self.delay = delay
        #: Every request received, in order (handy in tests).
        self.requests: list[ModelRequest] = []

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        self.requests.append(request)
        reply = f"{self.prefix}{last_user_text(request.input)}"
        size = max(1, -(-len(reply) // self.pieces))
        for start in range(0, len(reply), size):
            await asyncio.sleep(self.delay)
            yield TextDelta(reply[start : start + size])
        input_tokens = max(1, len(json.dumps(list(request.input), default=str)) // 4)
        output_tokens = max(1, len(reply) // 4)
        usage = TokenUsage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )
        yield ModelCompleted(reply, usage)
