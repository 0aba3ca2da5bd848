"""Unknown enum values, invalid cursors and page sizes out of range are refused before anything
is read or changed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from threadstore import (
    CreateThreadParams,
    InvalidRequest,
    ListThreadsParams,
    ResumeThreadParams,
    SearchThreadsParams,
    ThreadMetadataPatch,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore

from .._util import snapshot
from .helpers import refused


async def test_unknown_enum_values(home: Path, store: LocalThreadStore) -> None:
    tid = new_thread_id()
    bad: list[Callable[[], Any]] = [
        lambda: ListThreadsParams(sort_key="name"),  # type: ignore[arg-type]
        lambda: ListThreadsParams(sort_key="CREATED_AT"),  # type: ignore[arg-type]
        lambda: ListThreadsParams(sort_direction="up"),  # type: ignore[arg-type]
        lambda: ListThreadsParams(sort_direction=None),  # type: ignore[arg-type]
        lambda: SearchThreadsParams("x", sort_key="size"),  # type: ignore[arg-type]
        lambda: SearchThreadsParams("x", sort_direction="sideways"),  # type: ignore[arg-type]
        lambda: CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p", memory_mode="off"),  # type: ignore[arg-type]
        lambda: CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p", event_persistence_mode="full"),  # type: ignore[arg-type]
        lambda: ResumeThreadParams(thread_id=tid, event_persistence_mode="everything"),  # type: ignore[arg-type]
        lambda: ThreadMetadataPatch(memory_mode="maybe"),  # type: ignore[arg-type]
        lambda: ListThreadsParams(allowed_sources=[""]),
    ]
    before = snapshot(home)
    for make in bad:
        with pytest.raises(InvalidRequest) as info:
            make()
        assert "unknown" in str(info.value) or "invalid" in str(info.value)
    assert snapshot(home) == before


BAD_CURSORS = [
    "",
    "garbage",
    "|",
    "2026-01-01T00:00:00Z|../../etc/passwd",
    "2026-13-45T99:00:00Z|01a211bf-81da-7c93-9c38-b2117fbac6d3",
    "99999999999999999999999",
    "2026-01-01T00:00:00Z|01a211bf-81da-7c93-9c38-b2117fbac6d3|x",
    "\x00",
    "x" * 10_000,
    "' OR 1=1 --",
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
async def test_invalid_cursors(home: Path, store: LocalThreadStore, cursor: str) -> None:
    message = await refused(home, lambda: store.list_threads(ListThreadsParams(cursor=cursor)))
    assert "cursor" in message
    await refused(home, lambda: store.search_threads(SearchThreadsParams("one", cursor=cursor)))


async def test_non_string_cursor(home: Path, store: LocalThreadStore) -> None:
    await refused(home, lambda: store.list_threads(ListThreadsParams(cursor=123)))  # type: ignore[arg-type]


async def test_cursor_round_trip_still_works(store: LocalThreadStore) -> None:
    page = await store.list_threads(ListThreadsParams(page_size=1, archived=False))
    assert len(page.items) == 1
    assert page.next_cursor is None
    page = await store.list_threads(ListThreadsParams(page_size=1, archived=True))
    assert page.items
    assert page.items[0].name == "named"


@pytest.mark.parametrize("size", [0, -1, 1001, 10**9, 2**70, True, 1.5, "50", None])
async def test_page_sizes_out_of_range(home: Path, store: LocalThreadStore, size: Any) -> None:
    await refused(home, lambda: store.list_threads(ListThreadsParams(page_size=size)))
    await refused(home, lambda: store.search_threads(SearchThreadsParams("one", page_size=size)))


async def test_largest_page_size_is_fine(store: LocalThreadStore) -> None:
    assert len((await store.list_threads(ListThreadsParams(page_size=1000))).items) == 1
