"""Small builders the conformance tests (and backend authors' own tests) use."""

from __future__ import annotations

from typing import Any

from threadstore._contract.base import ThreadStore
from threadstore._contract.types import AppendThreadItemsParams, CreateThreadParams, LoadThreadHistoryParams
from threadstore._ids import new_thread_id
from threadstore._rollout.items import Item, agent_message, assistant_message, user_message, user_response_message

__all__ = ["append", "create_params", "new_thread", "read_items", "turn"]


def create_params(thread_id: str | None = None, **overrides: Any) -> CreateThreadParams:
    """Create parameters of a new thread in ``/srv/project`` with provider ``openai``."""
    fields: dict[str, Any] = {
        "thread_id": thread_id or new_thread_id(),
        "cwd": "/srv/project",
        "model_provider": "openai",
    }
    fields.update(overrides)
    return CreateThreadParams(**fields)


def turn(text: str, answer: str | None = None) -> list[Item]:
    """The items one user turn persists (user message, agent answer)."""
    reply = answer if answer is not None else f"echo: {text}"
    return [user_response_message(text), user_message(text), agent_message(reply), assistant_message(reply)]


async def append(store: ThreadStore, thread_id: str, new_items: list[Item]) -> None:
    await store.append_items(AppendThreadItemsParams(thread_id=thread_id, items=new_items))


async def read_items(store: ThreadStore, thread_id: str, include_archived: bool = False) -> list[Item]:
    history = await store.load_history(LoadThreadHistoryParams(thread_id=thread_id, include_archived=include_archived))
    return history.items


async def new_thread(store: ThreadStore, text: str = "hello", *, shutdown: bool = True, **overrides: Any) -> str:
    """A materialized thread with one user turn (shut down unless asked otherwise)."""
    params = create_params(**overrides)
    await store.create_thread(params)
    await append(store, params.thread_id, turn(text))
    await store.flush_thread(params.thread_id)
    if shutdown:
        await store.shutdown_thread(params.thread_id)
    return params.thread_id
