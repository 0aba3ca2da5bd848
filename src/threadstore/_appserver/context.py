"""What a method handler receives and returns.

A handler takes the request's :class:`~.params.Params` and its :class:`RequestContext` (the
calling connection and where the answer goes) and returns a :class:`Reply` (the result, and
what to do right after it is sent, such as notifications) or :data:`DEFERRED` when the answer
waits for a runtime event (the thread's listener sends it through the kept
:class:`~.state.Responder`). Handlers raise :class:`~.errors.RpcError` or library errors; the
dispatcher turns those into error answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from threadstore._appserver.hub import Member
from threadstore._appserver.params import Params
from threadstore._appserver.state import Responder

__all__ = ["DEFERRED", "Deferred", "Handler", "Reply", "RequestContext"]


@dataclass(frozen=True)
class RequestContext:
    """The connection a request came from, and where its answer goes."""

    member: Member
    responder: Responder


@dataclass(frozen=True)
class Reply:
    """A result, and what to do once it has been sent (e.g. send notifications)."""

    result: Any
    then: Callable[[], None] | None = None


class Deferred:
    """The answer will be sent later, by the thread's listener."""


DEFERRED: Final = Deferred()

Handler = Callable[[Params, RequestContext], Awaitable[Reply | Deferred]]
