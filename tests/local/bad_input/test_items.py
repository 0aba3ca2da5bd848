"""Items that are too large, not JSON or not items are refused, and nothing of their batch is
written."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from threadstore import AppendThreadItemsParams, CreateThreadParams, ResourceExhausted, ThreadStoreError, new_thread_id
from threadstore._backends.local import LocalThreadStore

from .._util import history, make_thread, numbered, numbers
from .helpers import refused


async def _live(store: LocalThreadStore) -> tuple[str, Path]:
    tid = await make_thread(store, "live", shutdown=False)
    return tid, store.live_rollout_path(tid)


async def test_oversized_items_write_nothing(home: Path, store: LocalThreadStore) -> None:
    tid, path = await _live(store)
    size = path.stat().st_size
    huge = {"type": "response_item", "payload": {"type": "message", "text": "x" * 70_000}}
    message = await refused(home, lambda: store.append_items(AppendThreadItemsParams(tid, [huge])), ResourceExhausted)
    assert "exceeds" in message
    # A good item before the bad one in the same call is not written either.
    await refused(
        home, lambda: store.append_items(AppendThreadItemsParams(tid, [numbered(0), huge])), ResourceExhausted
    )
    await store.flush_thread(tid)
    assert path.stat().st_size == size
    # A lazily created thread is not materialized by a refused item.
    fresh = new_thread_id()
    await store.create_thread(CreateThreadParams(thread_id=fresh, cwd="/w", model_provider="p"))
    await refused(home, lambda: store.append_items(AppendThreadItemsParams(fresh, [huge])), ResourceExhausted)
    await store.discard_thread(fresh)
    # The writer still works.
    await store.append_items(AppendThreadItemsParams(tid, [numbered(1)]))
    await store.shutdown_thread(tid)
    assert numbers(await history(store, tid)) == [1]


def _circular() -> dict[str, Any]:
    payload: dict[str, Any] = {"type": "message"}
    payload["self"] = payload
    return {"type": "response_item", "payload": payload}


NOT_JSON = {
    "object": {"type": "response_item", "payload": {"value": object()}},
    "set": {"type": "response_item", "payload": {"value": {1, 2}}},
    "bytes": {"type": "response_item", "payload": {"value": b"raw"}},
    "circular": _circular(),
    "lone-surrogate": {"type": "response_item", "payload": {"text": "half \ud800"}},
    "lone-surrogate-key": {"type": "response_item", "payload": {"\udfff": 1}},
    "infinity-int": {"type": "response_item", "payload": {"value": 10**5000}},
}


@pytest.mark.parametrize("item", NOT_JSON.values(), ids=NOT_JSON.keys())
async def test_non_json_items_write_nothing(home: Path, store: LocalThreadStore, item: dict[str, Any]) -> None:
    tid, path = await _live(store)
    size = path.stat().st_size
    message = await refused(
        home, lambda: store.append_items(AppendThreadItemsParams(tid, [numbered(0), item])), ThreadStoreError
    )
    assert "JSON" in message or "exceeds" in message
    assert path.stat().st_size == size
    await store.shutdown_thread(tid)


async def test_nan_is_written_as_json(store: LocalThreadStore) -> None:
    """Values JSON cannot carry must not produce a line other readers reject."""
    tid, path = await _live(store)
    await store.append_items(AppendThreadItemsParams(tid, [{"type": "response_item", "payload": {"v": math.nan}}]))
    await store.shutdown_thread(tid)
    last = path.read_bytes().splitlines()[-1]
    json.loads(last, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


NOT_ITEMS = {
    "string": ["not an item"],
    "list": [[1, 2]],
    "none": [None],
    "no-type": [{"payload": {}}],
    "empty-type": [{"type": "", "payload": {}}],
    "int-type": [{"type": 3, "payload": {}}],
    "second-bad": [{"type": "response_item", "payload": {}}, 42],
}


@pytest.mark.parametrize("items", NOT_ITEMS.values(), ids=NOT_ITEMS.keys())
async def test_non_dict_items_are_refused(home: Path, store: LocalThreadStore, items: list[Any]) -> None:
    tid, path = await _live(store)
    size = path.stat().st_size
    message = await refused(home, lambda: store.append_items(AppendThreadItemsParams(tid, items)))
    assert "item" in message
    assert path.stat().st_size == size
    await store.shutdown_thread(tid)
