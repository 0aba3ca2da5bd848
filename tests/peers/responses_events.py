"""What the OpenAI Responses API answers, as the fake server sends it: the Server-Sent Events
of a streamed answer (``response.created`` ... ``response.completed``) or the final ``response``
object, for a reply text; and the user text a request ends with, which the default reply echoes.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

__all__ = ["JSON", "build_response_events", "build_response_object", "echo_reply", "last_user_text"]

JSON = dict[str, Any]


def _text_of_content(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and part.get("type") in ("input_text", "text", "output_text"):
                text = part.get("text")
                if isinstance(text, str):
                    parts.append(text)
    return "".join(parts)


def last_user_text(request_body: JSON) -> str:
    """The text of the last ``role == "user"`` message in a Responses request's ``input``."""
    items = request_body.get("input")
    if isinstance(items, str):
        return items
    if not isinstance(items, list):
        return ""
    for item in reversed(items):
        if not isinstance(item, dict) or item.get("role") != "user":
            continue
        if item.get("type", "message") != "message":
            continue
        return _text_of_content(item.get("content"))
    return ""


def echo_reply(request_body: JSON) -> str:
    """The default answer: ``echo: <last user text>``."""
    return f"echo: {last_user_text(request_body)}"


def _usage(input_tokens: int, output_tokens: int) -> JSON:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def _split_deltas(text: str, pieces: int = 3) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


def build_response_events(request_body: JSON, reply: str) -> list[JSON]:
    """The ordered list of SSE event payloads answering one ``/responses`` request."""
    response_id = f"resp_{uuid.uuid4().hex}"
    message_id = f"msg_{uuid.uuid4().hex}"
    model = str(request_body.get("model") or "fake-model")
    created_at = int(time.time())
    input_tokens = max(1, len(json.dumps(request_body.get("input", ""))) // 4)
    output_tokens = max(1, len(reply) // 4)
    base_response: JSON = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "model": model,
        "output": [],
        "usage": None,
    }
    item_in_progress: JSON = {
        "id": message_id,
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    item_done: JSON = {
        "id": message_id,
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": reply, "annotations": []}],
    }
    events: list[JSON] = [
        {"type": "response.created", "response": {**base_response, "status": "in_progress"}},
        {
            "type": "response.in_progress",
            "response": {**base_response, "status": "in_progress"},
        },
        {"type": "response.output_item.added", "output_index": 0, "item": item_in_progress},
        {
            "type": "response.content_part.added",
            "item_id": message_id,
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
    ]
    for delta in _split_deltas(reply):
        events.append(
            {
                "type": "response.output_text.delta",
                "item_id": message_id,
                "output_index": 0,
                "content_index": 0,
                "delta": delta,
            }
        )
    events += [
        {
            "type": "response.output_text.done",
            "item_id": message_id,
            "output_index": 0,
            "content_index": 0,
            "text": reply,
        },
        {
            "type": "response.content_part.done",
            "item_id": message_id,
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "text": reply, "annotations": []},
        },
        {"type": "response.output_item.done", "output_index": 0, "item": item_done},
        {
            "type": "response.completed",
            "response": {
                **base_response,
                "status": "completed",
                "output": [item_done],
                "usage": _usage(input_tokens, output_tokens),
            },
        },
    ]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def build_response_object(request_body: JSON, reply: str) -> JSON:
    """The final ``response`` object, for non-streaming requests."""
    completed = build_response_events(request_body, reply)[-1]
    response: JSON = completed["response"]
    return response
