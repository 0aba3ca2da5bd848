"""The conversations every workload uses, for ours and the anchors alike (standard library only).

Everything is deterministic: thread ``n`` of a data set always has the same id, timestamps and
texts, so a runner in the project's environment and one in the anchors' environment write the
same conversations in their own formats. A *turn* is what one user request produces in a real
agent: the prompt, a reasoning step, one tool call and its output, and the answer.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = [
    "EPOCH",
    "Turn",
    "item_pairs",
    "message_text",
    "thread_created",
    "thread_uuid",
    "turn",
]

EPOCH: Final = datetime(2025, 11, 3, 9, 0, 0, tzinfo=UTC)
"""When the oldest generated thread was created; the others follow at a steady pace."""

#: Data sets span about a year of use, whatever their size (more threads, closer together).
_SPAN: Final = timedelta(days=360)

_WORDS: Final = tuple(
    [
        "index",
        "cursor",
        "page",
        "thread",
        "append",
        "flush",
        "rollout",
        "schema",
        "sqlite",
        "cache",
        "writer",
        "lease",
        "fork",
        "resume",
        "archive",
        "search",
        "token",
        "migrate",
        "parser",
        "storage",
        "latency",
        "batch",
        "commit",
        "journal",
        "snapshot",
        "replay",
        "review",
        "refactor",
        "deploy",
        "config",
        "module",
        "handler",
        "client",
        "server",
        "stream",
        "event",
        "history",
        "metric",
    ]
)

_MESSAGE_BYTES: Final = 400
"""About 100 tokens of prose per message, as in the anchors' own measurements."""


def thread_uuid(dataset: str, n: int, created: datetime) -> str:
    """A UUIDv7 for thread ``n`` of ``dataset``: its time bits are the creation time, its random
    bits come from the data set's name and ``n``."""
    rng = random.Random(f"{dataset}/{n}")
    ms = int(created.timestamp() * 1000)
    rand_a = rng.getrandbits(12)
    rand_b = rng.getrandbits(62)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def thread_created(n: int, total: int) -> datetime:
    """Creation time of thread ``n`` of ``total`` (whole seconds, oldest first)."""
    step = max(1.0, _SPAN.total_seconds() / max(total, 1))
    return EPOCH + timedelta(seconds=int(n * step))


def message_text(seed: str, size: int = _MESSAGE_BYTES) -> str:
    """About ``size`` bytes of words, the same for the same seed."""
    rng = random.Random(seed)
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


@dataclass(frozen=True, slots=True)
class Turn:
    """The texts of one turn."""

    prompt: str
    reasoning: str
    command: str
    output: str
    answer: str


def turn(seed: str) -> Turn:
    """The texts of one turn (the first words of the prompt carry the seed, so that search has
    rare terms to find)."""
    return Turn(
        prompt=f"{seed.replace('/', ' ')} " + message_text(seed + "/p", 200),
        reasoning=message_text(seed + "/r", 300),
        command=f"rg -n {message_text(seed + '/c', 24).split()[0]} src",
        output=message_text(seed + "/o", 600),
        answer=message_text(seed + "/a", _MESSAGE_BYTES),
    )


def item_pairs(count: int, seed: str = "long") -> list[tuple[str, str]]:
    """``count`` alternating (role, text) messages, user first, for long threads."""
    return [("user" if i % 2 == 0 else "assistant", message_text(f"{seed}/{i}")) for i in range(count)]
