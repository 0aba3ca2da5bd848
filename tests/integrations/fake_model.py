"""An offline Agents SDK ``Model`` for the tests: it answers each call with the next step of a
script, streamed or not, and records the input it was given (so a test can check what history
the session handed to the model)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from agents import Model, ModelResponse, ModelSettings, ModelTracing, Usage
from agents.items import TResponseInputItem, TResponseOutputItem, TResponseStreamEvent
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
)

Step = Callable[[list[dict[str, Any]]], list[TResponseOutputItem]]


def say(text: str) -> ResponseOutputMessage:
    """An assistant message the model answers with."""
    return ResponseOutputMessage(
        id=f"msg_{uuid.uuid4().hex[:12]}",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )


def call(name: str, **arguments: Any) -> ResponseFunctionToolCall:
    """A function call the model answers with."""
    return ResponseFunctionToolCall(
        id=f"fc_{uuid.uuid4().hex[:12]}",
        call_id=f"call_{uuid.uuid4().hex[:12]}",
        type="function_call",
        name=name,
        arguments=json.dumps(arguments),
        status="completed",
    )


def last_user_text(history: list[dict[str, Any]]) -> str:
    for item in reversed(history):
        if item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, str):
                return content
            return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def echo(history: list[dict[str, Any]]) -> list[TResponseOutputItem]:
    """The default step: answer ``echo: <last user text>``."""
    return [say(f"echo: {last_user_text(history)}")]


class FakeModel(Model):
    """Answers call N with ``steps[N](input)`` (``echo`` once the steps run out)."""

    def __init__(self, steps: list[Step] | None = None) -> None:
        self.steps = list(steps or [])
        self.inputs: list[list[dict[str, Any]]] = []

    def _answer(self, input: str | list[TResponseInputItem]) -> list[TResponseOutputItem]:
        history: list[dict[str, Any]] = (
            [{"role": "user", "content": input}] if isinstance(input, str) else [dict(i) for i in input]
        )
        self.inputs.append(history)
        step = self.steps.pop(0) if self.steps else echo
        return step(history)

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Any],
        output_schema: Any,
        handoffs: list[Any],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: Any,
    ) -> ModelResponse:
        return ModelResponse(output=self._answer(input), usage=Usage(), response_id=None)

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Any],
        output_schema: Any,
        handoffs: list[Any],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: Any,
    ) -> AsyncIterator[TResponseStreamEvent]:
        output = self._answer(input)
        sequence = 0
        for index, item in enumerate(output):
            yield ResponseOutputItemDoneEvent(
                type="response.output_item.done", item=item, output_index=index, sequence_number=sequence
            )
            sequence += 1
        response = Response(
            id=f"resp_{uuid.uuid4().hex[:12]}",
            created_at=0,
            model="fake",
            object="response",
            output=output,
            parallel_tool_calls=False,
            tool_choice="auto",
            tools=[],
        )
        yield ResponseCompletedEvent(type="response.completed", response=response, sequence_number=sequence)
