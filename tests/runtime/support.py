"""Helpers shared by the runtime tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from threadstore import InMemoryThreadStore
from threadstore.errors import ThreadStoreError
from threadstore.runtime import Event, Thread
from threadstore.store.types import (
    AppendThreadItemsParams,
    LoadThreadHistoryParams,
    StoredThread,
    StoredThreadHistory,
    UpdateThreadMetadataParams,
)


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
    """An in-memory store whose metadata updates can be held and made to fail, and which records
    the order of the lifecycle calls it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.hold_updates = False
        self.failures: list[ThreadStoreError] = []
        self.load_history_error: ThreadStoreError | None = None
        self.shutdown_failures: list[ThreadStoreError] = []
        self.applied: list[UpdateThreadMetadataParams] = []
        self.attempts = 0
        self._gates: list[asyncio.Event] = []
        self._changed = asyncio.Condition()

    # -- controls --------------------------------------------------------------------------------

    async def wait_attempts(self, count: int, limit: float = 2.0) -> None:
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: self.attempts >= count)

        await asyncio.wait_for(wait(), limit)

    def release_next(self) -> None:
        for gate in self._gates:
            if not gate.is_set():
                gate.set()
                return
        raise AssertionError("no held metadata update to release")

    def release_all(self) -> None:
        self.hold_updates = False
        for gate in self._gates:
            gate.set()

    # -- instrumented operations -----------------------------------------------------------------

    async def update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        self.calls.append("update_thread_metadata")
        async with self._changed:
            self.attempts += 1
            self._changed.notify_all()
        if self.hold_updates:
            gate = asyncio.Event()
            self._gates.append(gate)
            await gate.wait()
        if self.failures:
            raise self.failures.pop(0)
        result = await super().update_thread_metadata(params)
        self.applied.append(params)
        return result

    async def append_items(self, params: AppendThreadItemsParams) -> None:
        self.calls.append("append_items")
        await super().append_items(params)

    async def load_history(self, params: LoadThreadHistoryParams) -> StoredThreadHistory:
        self.calls.append("load_history")
        if self.load_history_error is not None:
            raise self.load_history_error
        return await super().load_history(params)

    async def shutdown_thread(self, thread_id: str) -> None:
        self.calls.append("shutdown_thread")
        if self.shutdown_failures:
            raise self.shutdown_failures.pop(0)
        await super().shutdown_thread(thread_id)

    async def discard_thread(self, thread_id: str) -> None:
        self.calls.append("discard_thread")
        await super().discard_thread(thread_id)
