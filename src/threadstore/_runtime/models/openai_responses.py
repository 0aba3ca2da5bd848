"""``OpenAIResponsesModel``: a streaming client for the OpenAI Responses API (or any server that
speaks it).

``POST {base_url}/responses`` with ``stream: true``; the answer arrives as Server-Sent Events:
``response.output_text.delta`` (text pieces), ``response.completed`` (the final response with its
usage), ``response.failed`` / ``error`` (failures). Requests that fail before any output was
streamed (connection errors, HTTP 429 and 5xx, a stream cut before its first piece) are retried
with exponential backoff; everything else raises :class:`ModelError` with a Codex error kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Final

import httpx

from threadstore._contract.types import TokenUsage
from threadstore._runtime.errors import ModelError
from threadstore._runtime.models.base import ModelClient, ModelCompleted, ModelEvent, ModelRequest, TextDelta
from threadstore._runtime.models.sse import parse_sse

__all__ = ["OpenAIResponsesModel", "to_responses_input"]

DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
DEFAULT_MODEL: Final = "gpt-4.1-mini"

_CONTENT_KEYS: Final = {
    "input_text": ("type", "text"),
    "output_text": ("type", "text"),
    "input_image": ("type", "image_url", "detail"),
}
_ITEM_KEYS: Final = {
    "function_call": ("type", "name", "arguments", "call_id"),
    "custom_tool_call": ("type", "name", "input", "call_id"),
}


def _content(parts: object) -> list[dict[str, Any]] | str:
    if isinstance(parts, str):
        return parts
    out: list[dict[str, Any]] = []
    if isinstance(parts, list):
        for part in parts:
            if isinstance(part, Mapping):
                keys = _CONTENT_KEYS.get(str(part.get("type")))
                if keys is not None:
                    out.append({k: part[k] for k in keys if part.get(k) is not None})
    return out


def _output_text(output: object) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "".join(str(p.get("text", "")) for p in output if isinstance(p, Mapping))
    if isinstance(output, Mapping):
        return str(output.get("content", ""))
    return ""


def to_responses_input(history: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The history as Responses API ``input`` items: messages and tool calls with only the fields
    the API accepts; items it cannot take back (reasoning without encrypted content, local
    bookkeeping) are left out."""
    items: list[dict[str, Any]] = []
    for payload in history:
        kind = payload.get("type", "message")
        if kind == "message":
            role = payload.get("role")
            if role in ("user", "assistant", "developer", "system"):
                items.append({"type": "message", "role": role, "content": _content(payload.get("content"))})
        elif kind in _ITEM_KEYS:
            items.append({k: payload[k] for k in _ITEM_KEYS[kind] if k in payload})
        elif kind in ("function_call_output", "custom_tool_call_output"):
            items.append(
                {"type": kind, "call_id": payload.get("call_id"), "output": _output_text(payload.get("output"))}
            )
        elif kind == "reasoning" and payload.get("encrypted_content"):
            items.append(
                {
                    "type": "reasoning",
                    "summary": payload.get("summary") or [],
                    "encrypted_content": payload["encrypted_content"],
                }
            )
    return items


def _usage(value: object) -> TokenUsage | None:
    if not isinstance(value, Mapping):
        return None

    def number(v: object) -> int:
        return v if isinstance(v, int) and not isinstance(v, bool) else 0

    input_details = value.get("input_tokens_details")
    output_details = value.get("output_tokens_details")
    input_tokens = number(value.get("input_tokens"))
    output_tokens = number(value.get("output_tokens"))
    return TokenUsage(
        input_tokens=input_tokens,
        cached_input_tokens=number(input_details.get("cached_tokens")) if isinstance(input_details, Mapping) else 0,
        output_tokens=output_tokens,
        reasoning_output_tokens=(
            number(output_details.get("reasoning_tokens")) if isinstance(output_details, Mapping) else 0
        ),
        total_tokens=number(value.get("total_tokens")) or input_tokens + output_tokens,
    )


def _response_text(response: Mapping[str, Any]) -> str:
    parts: list[str] = []
    output = response.get("output")
    if isinstance(output, list):
        for item in output:
            if isinstance(item, Mapping) and item.get("type") == "message":
                for part in item.get("content") or ():
                    if isinstance(part, Mapping) and part.get("type") == "output_text":
                        parts.append(str(part.get("text", "")))
    return "".join(parts)


def _error_message(body: bytes) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return text[:500] or "no details"
    if isinstance(parsed, Mapping):
        error = parsed.get("error")
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return json.dumps(parsed)[:500]


def _http_error(status: int, body: bytes) -> ModelError:
    detail = _error_message(body)
    if status in (401, 403):
        kind, retryable = "unauthorized", False
    elif status == 429:
        kind, retryable = "usage_limit_exceeded", True
    elif status == 503:
        kind, retryable = "server_overloaded", True
    elif status >= 500:
        kind, retryable = "internal_server_error", True
    else:
        kind, retryable = "bad_request", False
    return ModelError(
        f"model request failed with HTTP {status}: {detail}", kind=kind, status_code=status, retryable=retryable
    )


class OpenAIResponsesModel(ModelClient):
    """A :class:`ModelClient` for the Responses API (see the module documentation).

    ``base_url`` defaults to ``$OPENAI_BASE_URL`` or the public API; the key is ``api_key`` or
    the environment variable named by ``api_key_env`` (sent as a bearer token when present).
    ``max_retries`` retries (with delays ``backoff * 2**attempt``, jittered, capped at
    ``max_backoff``) apply only before any output was streamed. Pass ``http_client`` to share a
    connection pool (it is then not closed by :meth:`aclose`), or ``transport`` for tests.
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        provider_id: str = "openai",
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        timeout: httpx.Timeout | float | None = None,
        headers: Mapping[str, str] | None = None,
        context_window: int | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.default_model = model
        self.provider_id = provider_id
        self.context_window = context_window
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self._api_key = api_key if api_key is not None else os.environ.get(api_key_env)
        self.max_retries = max(0, max_retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._headers = dict(headers or {})
        if timeout is None:
            timeout = httpx.Timeout(connect=10.0, read=300.0, write=30.0, pool=10.0)
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def _request_headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", **self._headers}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "input": to_responses_input(request.input),
            "stream": True,
            "store": False,
        }
        if request.instructions:
            body["instructions"] = request.instructions
        if request.reasoning_effort:
            body["reasoning"] = {"effort": request.reasoning_effort}
        if request.metadata:
            body["metadata"] = dict(request.metadata)
        return body

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        delay: float = min(self.max_backoff, self.backoff * (2.0**attempt)) * (0.8 + 0.4 * random.random())
        if retry_after is not None:
            with contextlib.suppress(ValueError):
                delay = max(delay, min(float(retry_after), self.max_backoff))
        return delay

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        url = f"{self.base_url}/responses"
        body = self._body(request)
        attempt = 0
        while True:
            streamed = False
            retry_after: str | None = None
            try:
                async with self._client.stream("POST", url, json=body, headers=self._request_headers()) as response:
                    if response.status_code != 200:
                        error = _http_error(response.status_code, await response.aread())
                        retry_after = response.headers.get("retry-after")
                        raise error
                    text: list[str] = []
                    async for event in parse_sse(response.aiter_lines()):
                        result = self._handle(event.data, text)
                        if isinstance(result, TextDelta):
                            streamed = True
                            yield result
                        elif isinstance(result, ModelCompleted):
                            yield result
                            return
                raise ModelError(
                    "model stream closed before the response completed",
                    kind="response_stream_disconnected",
                    retryable=True,
                )
            except httpx.TimeoutException as exc:
                error = ModelError(
                    f"model request timed out: {exc!r}", kind="response_stream_disconnected", retryable=True
                )
            except httpx.TransportError as exc:
                kind = "http_connection_failed" if not streamed else "response_stream_disconnected"
                error = ModelError(f"model connection failed: {exc!r}", kind=kind, retryable=True)
            except ModelError as exc:
                error = exc
            if error.retryable and not streamed and attempt < self.max_retries:
                await asyncio.sleep(self._delay(attempt, retry_after))
                attempt += 1
                continue
            if error.retryable and not streamed and attempt > 0:
                raise ModelError(
                    f"{error.message} (gave up after {attempt + 1} attempts)",
                    kind=error.kind,
                    status_code=error.status_code,
                ) from error
            raise error

    @staticmethod
    def _handle(data: str, text: list[str]) -> ModelEvent | None:
        if data == "[DONE]":
            return None
        try:
            event = json.loads(data)
        except ValueError:
            return None
        if not isinstance(event, Mapping):
            return None
        kind = event.get("type")
        if kind == "response.output_text.delta":
            delta = event.get("delta")
            if isinstance(delta, str) and delta:
                text.append(delta)
                return TextDelta(delta)
            return None
        if kind in ("response.completed", "response.incomplete"):
            response = event.get("response")
            response = response if isinstance(response, Mapping) else {}
            final = "".join(text) or _response_text(response)
            response_id = response.get("id")
            return ModelCompleted(
                final, _usage(response.get("usage")), response_id if isinstance(response_id, str) else None
            )
        if kind == "response.failed":
            response = event.get("response")
            error = response.get("error") if isinstance(response, Mapping) else None
            message = error.get("message") if isinstance(error, Mapping) else None
            code = error.get("code") if isinstance(error, Mapping) else None
            raise ModelError(
                f"model response failed: {message or 'no details'}",
                kind="context_window_exceeded" if code == "context_length_exceeded" else "other",
            )
        if kind == "error":
            message = event.get("message")
            error = event.get("error")
            if message is None and isinstance(error, Mapping):
                message = error.get("message")
            raise ModelError(f"model stream error: {message or 'no details'}", kind="other")
        return None
