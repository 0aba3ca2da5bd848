"""Model clients for the runtime: the :class:`ModelClient` interface, the offline
:class:`BuiltinModel` and :class:`OpenAIResponsesModel` (the OpenAI Responses API or any
compatible server; needs ``threadstore[openai]`` and is imported on first use)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from threadstore._runtime.models.base import ModelClient, ModelCompleted, ModelEvent, ModelRequest, TextDelta
from threadstore._runtime.models.builtin import BuiltinModel

if TYPE_CHECKING:
    from threadstore._runtime.models.openai_responses import OpenAIResponsesModel

__all__ = [
    "BuiltinModel",
    "ModelClient",
    "ModelCompleted",
    "ModelEvent",
    "ModelRequest",
    "OpenAIResponsesModel",
    "TextDelta",
]


def __getattr__(name: str) -> Any:
    if name == "OpenAIResponsesModel":
        from threadstore._extras import import_module

        module = import_module("threadstore._runtime.models.openai_responses", "threadstore.models.OpenAIResponsesModel")
        return module.OpenAIResponsesModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
