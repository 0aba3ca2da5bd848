"""The OpenAI Agents SDK session workloads, run the same way on every ``Session``: ours
(``ThreadSession``) in the project's environment, ``SQLiteSession`` and ``SQLAlchemySession`` in
the anchors' (standard library only here, so both environments import it).

* A *turn* is what the SDK's ``Runner`` asks of a session in one run: ``get_items()`` (the whole
  history, the default without ``session_settings.limit``), ``add_items`` of the input, and
  ``add_items`` of what the run produced (a tool call, its output, the answer). Timed over
  ``count`` turns on a fresh session, the history growing as it would; the median turn is
  reported.
* The *tail* is ``get_items(limit=50)`` on a session of ``count`` items, filled as the Runner
  fills one (turns of input, tool call, tool output, answer; ``shape="turns"``) or with
  messages only (alternating user and assistant messages; ``shape="messages"``, where every item
  is a message: the worst case for ``ThreadSession``, which writes the event Codex writes beside
  each message, so it reads two lines per item).
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from .corpus import message_text
from .measure import time_async

__all__ = ["fill", "tail_ms", "turn_items", "turns_ms"]


def turn_items(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The input and the output items of turn ``n``, as the SDK stores them."""
    question: list[dict[str, Any]] = [{"role": "user", "content": f"question {n}: {message_text('question')}"}]
    call_id = f"call_{n:06d}"
    answer: list[dict[str, Any]] = [
        {
            "type": "function_call",
            "id": f"fc_{n:06d}",
            "call_id": call_id,
            "name": "lookup",
            "arguments": json.dumps({"query": f"topic {n}"}),
            "status": "completed",
        },
        {"type": "function_call_output", "call_id": call_id, "output": message_text("output")},
        {
            "type": "message",
            "id": f"msg_{n:06d}",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": message_text("answer"), "annotations": []}],
        },
    ]
    return question, answer


async def turns_ms(session: Any, count: int) -> float:
    """Median milliseconds of one turn (see the module documentation)."""
    times: list[float] = []
    for n in range(count):
        question, answer = turn_items(n)
        started = time.perf_counter()
        await session.get_items()
        await session.add_items(question)
        await session.add_items(answer)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


async def fill(session: Any, count: int, shape: str = "turns") -> None:
    """Give a session ``count`` items, about 100 per ``add_items`` (see the module documentation)."""
    if shape == "messages":
        items = [
            {"role": "user" if i % 2 == 0 else "assistant", "content": f"item {i} {message_text('fill')}"}
            for i in range(count)
        ]
        for start in range(0, count, 100):
            await session.add_items(items[start : start + 100])
        return
    batch: list[dict[str, Any]] = []
    n = 0
    while n * 4 < count:
        question, answer = turn_items(n)
        batch += question + answer
        n += 1
        if len(batch) >= 100:
            await session.add_items(batch)
            batch = []
    if batch:
        await session.add_items(batch)


async def tail_ms(session: Any, count: int, shape: str = "turns") -> float:
    """Median milliseconds of ``get_items(limit=50)`` on a session of ``count`` items."""
    await fill(session, count, shape)

    async def tail() -> None:
        got = await session.get_items(limit=50)
        assert len(got) == 50, len(got)

    await tail()
    return await time_async(tail, runs=30) * 1e3
