"""The ``ModelClient`` interface: what a session needs from a model.

A session sends the thread's model-visible history (Responses-API shaped response-item payloads)
plus instructions, and consumes a stream of :data:`ModelEvent`:

* zero or more :class:`TextDelta` (pieces of the answer, in order), then
* exactly one :class:`ModelCompleted` (the whole answer and the token usage of the request),
  as the last event.

A failure raises :class:`~threadstore._runtime.errors.ModelError` from the iterator. Cancelling
the task that iterates (an interrupt) cancels the request; implementations release their
connection when the iterator is closed.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from threadstore._contract.types import TokenUsage
from threadstore._rollout.messages import message_text

__all__ = [
    "ModelClient",
    "ModelCompleted",
    "ModelEvent",
    "ModelRequest",
    "TextDelta",
    "last_user_text",
]


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One request: the model name, the history to answer, and the instructions."""

    model: str
    input: Sequence[Mapping[str, Any]]
    instructions: str | None = None
    reasoning_effort: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer text."""

    text: str


@dataclass(frozen=True, slots=True)
class ModelCompleted:
    """The end of a response: the full answer text and the request's token usage."""

    text: str
    usage: TokenUsage | None = None
    response_id: str | None = None


ModelEvent = TextDelta | ModelCompleted


class ModelClient(abc.ABC):
    """Answers turns (see the module documentation for the streaming contract)."""

    #: The provider id recorded for threads that do not name one.
    provider_id: str = "unknown"
    #: The model used when a thread's config names none.
    default_model: str = "unknown"
    #: The context window reported in ``token_count`` events, when known.
    context_window: int | None = None

    @abc.abstractmethod
    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Stream the answer to ``request`` (deltas, then one :class:`ModelCompleted`)."""

    async def aclose(self) -> None:
        """Release the client's resources (connections). Idempotent."""


def last_user_text(history: Sequence[Mapping[str, Any]]) -> str:
    """The text of the last user ``message`` in a history, or ``""``."""
    for payload in reversed(history):
        if payload.get("type", "message") == "message" and payload.get("role") == "user":
            return message_text(payload)
    return ""
