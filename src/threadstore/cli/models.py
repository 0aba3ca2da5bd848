"""Model selection shared by the commands that run turns (``chat``, ``app-server``)."""

from __future__ import annotations

from enum import StrEnum

from ..runtime.models.base import ModelClient
from ..runtime.models.builtin import BuiltinModel

__all__ = ["ModelChoice", "model_client"]


class ModelChoice(StrEnum):
    """Which model answers: the offline built-in one or an OpenAI Responses API server."""

    builtin = "builtin"
    openai = "openai"


def model_client(choice: ModelChoice, base_url: str | None, api_key_env: str, model_name: str | None) -> ModelClient:
    """The client for ``choice`` (the OpenAI one reads its key from ``api_key_env``)."""
    if choice is ModelChoice.builtin:
        return BuiltinModel()
    from ..runtime.models.openai_responses import OpenAIResponsesModel

    if model_name is None:
        return OpenAIResponsesModel(base_url=base_url, api_key_env=api_key_env)
    return OpenAIResponsesModel(base_url=base_url, api_key_env=api_key_env, model=model_name)
