"""Helpers shared by the runtime tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from threadstore import InMemoryThreadStore
from threadstore._contract.patch import UpdateThreadMetadataParams
from threadstore._contract.types import LoadThreadHistoryParams, StoredThread, StoredThreadHistory
from threadstore._rollout.policy import PersistedItems
from threadstore._runtime import Event, Thread
from threadstore._runtime.models.base import (
    ModelClient,
    ModelCompleted,
    ModelEvent,
    ModelRequest,
    TextDelta,
    last_user_text,
)
from threadstore.errors import ThreadStoreError


def read_rollout(path: Path) -> list[dict[str, Any]]:
    """The items (``type`` + ``payload``) of a rollout file."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            items.append({"type": record["type"], "payload": record["payload"]})
    return items


async def collect_until(thread: Thread, *types: str, limit: float = 5.0) -> list[Event]:
    """Events up to and including the first one whose type is in ``types``."""
    events: list[Event] = []

    async def run() -> None:
        while True:
            event = await thread.next_event()
            events.append(event)
            if event.type in types:
                return

    await asyncio.wait_for(run(), limit)
    return events


async def run_turn(thread: Thread, text: str, limit: float = 5.0) -> list[Event]:
    """Submit one user message and return its events up to the turn's end."""
    sub_id = await thread.submit({"type": "user_input", "items": [{"type": "text", "text": text}]})
    events = await collect_until(thread, "task_complete", "turn_aborted", limit=limit)
    assert all(e.id == sub_id for e in events), [(e.id, e.type) for e in events]
    return events


def kinds(items: Sequence[dict[str, Any]]) -> list[str]:
    """``type`` of each item, with the inner type for events and response items."""
    out = []
    for item in items:
        payload = item.get("payload") or {}
        if item["type"] in ("event_msg", "response_item"):
            inner = payload.get("type")
            if inner == "message":
                inner = f"message:{payload.get('role')}"
            out.append(f"{item['type']}:{inner}")
        else:
            out.append(item["type"])
    return out


class ScriptedStore(InMemoryThreadStore):
    """An in-memory store that records the order of the calls its hooks receive, and whose
    history loads and shutdowns can be made to fail."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.load_history_error: ThreadStoreError | None = None
        self.shutdown_failures: list[ThreadStoreError] = []

    async def _update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        self.calls.append("update_thread_metadata")
        return await super()._update_thread_metadata(params)

    async def _append_items(self, thread_id: str, items: PersistedItems, idempotency_key: str | None = None) -> None:
        self.calls.append("append_items")
        await super()._append_items(thread_id, items, idempotency_key)

    async def _load_history(self, params: LoadThreadHistoryParams) -> StoredThreadHistory:
        self.calls.append("load_history")
        if self.load_history_error is not None:
            raise self.load_history_error
        return await super()._load_history(params)

    async def _shutdown_thread(self, thread_id: str) -> None:
        self.calls.append("shutdown_thread")
        if self.shutdown_failures:
            raise self.shutdown_failures.pop(0)
        await super()._shutdown_thread(thread_id)

    async def _discard_thread(self, thread_id: str) -> None:
        self.calls.append("discard_thread")
        await super()._discard_thread(thread_id)


class GatedModel(ModelClient):
    """Answers ``echo: <last user text>`` once the test releases the request."""

    provider_id = "gated"
    default_model = "gated"

    def __init__(self) -> None:
        self.requests: list[ModelRequest] = []
        self.arrived = asyncio.Queue[ModelRequest]()
        self.gates: list[asyncio.Event] = []

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        gate = asyncio.Event()
        self.gates.append(gate)
        self.requests.append(request)
        self.arrived.put_nowait(request)
        await gate.wait()
        text = f"echo: {last_user_text(request.input)}"
        yield TextDelta(text)
        yield ModelCompleted(text)

    async def next_request(self) -> ModelRequest:
        return await asyncio.wait_for(self.arrived.get(), 5)

    def release(self) -> None:
        self.gates[-1].set()
