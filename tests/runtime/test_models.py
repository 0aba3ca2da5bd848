"""Model clients: the built-in echo model, SSE parsing, and the Responses API client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from threadstore._contract.types import TokenUsage
from threadstore._runtime import BuiltinModel, ModelCompleted, ModelError, ModelRequest, OpenAIResponsesModel, TextDelta
from threadstore._runtime.models.base import ModelEvent
from threadstore._runtime.models.openai_responses import to_responses_input
from threadstore._runtime.models.sse import parse_sse

from ..peers.fake_responses import FakeResponsesServer
from ..peers.responses_events import build_response_events


def _request(text: str = "hello") -> ModelRequest:
    return ModelRequest(
        model="m",
        input=[{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}],
        instructions="be brief",
    )


async def _drain(stream: AsyncIterator[ModelEvent]) -> list[ModelEvent]:
    return [event async for event in stream]


async def test_builtin_model_echoes_in_deltas() -> None:
    model = BuiltinModel()
    events = await _drain(model.stream(_request("hello world")))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == 3
    assert "".join(deltas) == "echo: hello world"
    final = events[-1]
    assert isinstance(final, ModelCompleted)
    assert final.text == "echo: hello world"
    assert final.usage is not None
    assert final.usage.total_tokens > 0
    assert model.requests[0].instructions == "be brief"


async def test_sse_parser() -> None:
    async def lines() -> AsyncIterator[str]:
        for line in [": comment", "event: a", "data: one", "data: two", "", "data:x", "", "data: tail"]:
            yield line

    events = [e async for e in parse_sse(lines())]
    assert [(e.event, e.data) for e in events] == [("a", "one\ntwo"), ("message", "x"), ("message", "tail")]


def test_responses_input_keeps_only_api_fields() -> None:
    history: list[dict[str, Any]] = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}], "id": "x"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "yo"}], "phase": "final"},
        {"type": "reasoning", "summary": [], "content": None},
        {"type": "function_call", "name": "f", "arguments": "{}", "call_id": "c1", "id": "fc"},
        {"type": "function_call_output", "call_id": "c1", "output": {"content": "done", "success": True}},
    ]
    assert to_responses_input(history) == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "yo"}]},
        {"type": "function_call", "name": "f", "arguments": "{}", "call_id": "c1"},
        {"type": "function_call_output", "call_id": "c1", "output": "done"},
    ]


@pytest.fixture
def fake_server() -> Iterator[FakeResponsesServer]:
    with FakeResponsesServer() as server:
        yield server


async def test_openai_model_against_fake_responses_server(fake_server: FakeResponsesServer) -> None:
    model = OpenAIResponsesModel(base_url=fake_server.base_url, api_key="sk-test", model="gpt-fake")
    try:
        events = await _drain(model.stream(_request("ping")))
    finally:
        await model.aclose()
    deltas = "".join(e.text for e in events if isinstance(e, TextDelta))
    final = events[-1]
    assert isinstance(final, ModelCompleted)
    assert deltas == final.text == "echo: ping"
    assert final.usage is not None
    assert final.usage.total_tokens == final.usage.input_tokens + final.usage.output_tokens
    (recorded,) = fake_server.response_requests()
    body = recorded.json_body
    assert body["stream"] is True
    assert body["model"] == "m"
    assert body["instructions"] == "be brief"
    assert recorded.headers["authorization"] == "Bearer sk-test"


async def test_openai_model_close_delimited_stream() -> None:
    with FakeResponsesServer(chunked=False) as server:
        model = OpenAIResponsesModel(base_url=server.base_url, api_key="k")
        try:
            events = await _drain(model.stream(_request("plain")))
        finally:
            await model.aclose()
    assert isinstance(events[-1], ModelCompleted)
    assert events[-1].text == "echo: plain"


def _sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def _ok_body(text: str) -> bytes:
    return _sse(build_response_events({"model": "m", "input": []}, text))


def _model(handler: Any, **kwargs: Any) -> OpenAIResponsesModel:
    return OpenAIResponsesModel(
        base_url="http://model.test/v1",
        api_key="k",
        backoff=0.001,
        max_backoff=0.002,
        transport=httpx.MockTransport(handler),
        **kwargs,
    )


async def test_retries_429_and_5xx_then_succeeds() -> None:
    statuses = [429, 500, 503]
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if statuses:
            return httpx.Response(statuses.pop(0), json={"error": {"message": "slow down"}})
        return httpx.Response(200, content=_ok_body("fine"), headers={"content-type": "text/event-stream"})

    model = _model(handler)
    events = await _drain(model.stream(_request()))
    assert isinstance(events[-1], ModelCompleted)
    assert events[-1].text == "fine"
    assert len(calls) == 4


async def test_retries_connect_errors_then_gives_up() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("refused", request=request)

    model = _model(handler, max_retries=2)
    with pytest.raises(ModelError, match="gave up after 3 attempts") as caught:
        await _drain(model.stream(_request()))
    assert caught.value.kind == "http_connection_failed"
    assert len(calls) == 3


async def test_client_errors_are_not_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(401, json={"error": {"message": "bad key"}})

    model = _model(handler)
    with pytest.raises(ModelError, match="HTTP 401: bad key") as caught:
        await _drain(model.stream(_request()))
    assert caught.value.kind == "unauthorized"
    assert caught.value.status_code == 401
    assert len(calls) == 1


async def test_failed_response_and_error_events() -> None:
    failed = [{"type": "response.failed", "response": {"error": {"code": "server_error", "message": "exploded"}}}]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_sse(failed))

    with pytest.raises(ModelError, match="exploded"):
        await _drain(_model(handler).stream(_request()))

    def error_handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_sse([{"type": "error", "message": "quota"}]))

    with pytest.raises(ModelError, match="quota"):
        await _drain(_model(error_handler).stream(_request()))


async def test_stream_cut_after_output_is_not_retried() -> None:
    calls: list[int] = []
    partial = [e for e in build_response_events({"model": "m"}, "abcdef") if e["type"] != "response.completed"]

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, content=_sse(partial))

    with pytest.raises(ModelError, match="closed before the response completed"):
        await _drain(_model(handler).stream(_request()))
    assert len(calls) == 1


async def test_stream_cut_before_output_is_retried() -> None:
    bodies = [_sse([{"type": "response.created", "response": {}}]), _ok_body("second try")]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bodies.pop(0))

    events = await _drain(_model(handler).stream(_request()))
    assert isinstance(events[-1], ModelCompleted)
    assert events[-1].text == "second try"


async def test_usage_details_are_mapped() -> None:
    completed = {
        "type": "response.completed",
        "response": {
            "id": "resp_1",
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "whole"}]}],
            "usage": {
                "input_tokens": 10,
                "input_tokens_details": {"cached_tokens": 4},
                "output_tokens": 5,
                "output_tokens_details": {"reasoning_tokens": 2},
                "total_tokens": 15,
            },
        },
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_sse([completed]))

    events = await _drain(_model(handler).stream(_request()))
    final = events[-1]
    assert isinstance(final, ModelCompleted)
    assert final.text == "whole"
    assert final.response_id == "resp_1"
    assert final.usage == TokenUsage(
        input_tokens=10, cached_input_tokens=4, output_tokens=5, reasoning_output_tokens=2, total_tokens=15
    )
