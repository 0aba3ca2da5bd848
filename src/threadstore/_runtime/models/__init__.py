"""Model clients: the :class:`ModelClient` interface and its two implementations.

:class:`OpenAIResponsesModel` (and with it ``httpx``) is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from threadstore._runtime.models.base import (
    ModelClient,
    ModelCompleted,
    ModelEvent,
    ModelRequest,
    TextDelta,
    last_user_text,
)
from threadstore._runtime.models.builtin import BuiltinModel

if TYPE_CHECKING:
    from threadstore._runtime.models.openai_responses import OpenAIResponsesModel, to_responses_input

__all__ = [
    "BuiltinModel",
    "ModelClient",
    "ModelCompleted",
    "ModelEvent",
    "ModelRequest",
    "OpenAIResponsesModel",
    "TextDelta",
    "last_user_text",
    "to_responses_input",
]

_LAZY = frozenset({"OpenAIResponsesModel", "to_responses_input"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from threadstore._runtime.models import openai_responses

        return getattr(openai_responses, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
