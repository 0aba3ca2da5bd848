"""Small builders shared by the conformance tests."""

from __future__ import annotations

from typing import Any

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    ThreadStore,
    items,
    new_thread_id,
)


def create_params(thread_id: str | None = None, **overrides: Any) -> CreateThreadParams:
    fields: dict[str, Any] = {
        "thread_id": thread_id or new_thread_id(),
        "cwd": "/work/project",
        "model_provider": "openai",
    }
    fields.update(overrides)
    return CreateThreadParams(**fields)


def turn(text: str, answer: str | None = None) -> list[dict[str, Any]]:
    """The items one user turn persists (user message, agent answer)."""
    return [
        items.user_response_message(text),
        items.user_message(text),
        items.agent_message(answer if answer is not None else f"echo: {text}"),
        items.assistant_message(answer if answer is not None else f"echo: {text}"),
    ]


async def append(store: ThreadStore, thread_id: str, new_items: list[dict[str, Any]]) -> None:
    await store.append_items(AppendThreadItemsParams(thread_id=thread_id, items=new_items))


async def new_thread(store: ThreadStore, text: str = "hello", *, shutdown: bool = True, **overrides: Any) -> str:
    """A materialized thread with one user turn (shut down unless asked otherwise)."""
    params = create_params(**overrides)
    await store.create_thread(params)
    await append(store, params.thread_id, turn(text))
    await store.flush_thread(params.thread_id)
    if shutdown:
        await store.shutdown_thread(params.thread_id)
    return params.thread_id
