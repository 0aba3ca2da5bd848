"""Model selection shared by the commands that run turns (``chat``, ``app-server``)."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated

import typer

from threadstore._cli.errors import CliFailure
from threadstore._runtime.models.base import ModelClient
from threadstore._runtime.models.builtin import BuiltinModel

__all__ = ["ApiKeyEnvOption", "BaseUrlOption", "ModelChoice", "ModelNameOption", "ModelOption", "model_client"]


class ModelChoice(StrEnum):
    """Which model answers: the offline built-in one or an OpenAI Responses API server."""

    builtin = "builtin"
    openai = "openai"


ModelOption = Annotated[ModelChoice, typer.Option("--model", help="Who answers.")]
BaseUrlOption = Annotated[
    str | None, typer.Option("--base-url", help="Responses API base URL (default $OPENAI_BASE_URL or OpenAI).")
]
ApiKeyEnvOption = Annotated[str, typer.Option("--api-key-env", help="Environment variable holding the API key.")]
ModelNameOption = Annotated[str | None, typer.Option("--model-name", help="Model to ask (e.g. gpt-4.1-mini).")]


def model_client(choice: ModelChoice, base_url: str | None, api_key_env: str, model_name: str | None) -> ModelClient:
    """The client for ``choice``. The OpenAI one reads its key from ``api_key_env``; when that
    variable is unset or empty this raises a failure at once, before any request is made."""
    if choice is ModelChoice.builtin:
        return BuiltinModel()
    if not os.environ.get(api_key_env, "").strip():
        raise CliFailure(
            f"--model openai needs an API key, and ${api_key_env} is not set: export it, or name the "
            "variable that holds the key with --api-key-env",
            "missing_api_key",
        )
    from threadstore._runtime.models.openai_responses import OpenAIResponsesModel

    if model_name is None:
        return OpenAIResponsesModel(base_url=base_url, api_key_env=api_key_env)
    return OpenAIResponsesModel(base_url=base_url, api_key_env=api_key_env, model=model_name)
