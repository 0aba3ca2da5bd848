"""The two ways the local store finds search hits (walking the listing for common terms, the
trigram index otherwise) give the same pages."""

from __future__ import annotations

from pathlib import Path

import pytest

import threadstore._backends.local.search as local_module
from threadstore import SearchThreadsParams
from threadstore._backends.local import LocalThreadStore

from ._util import make_thread


async def _pages(store: LocalThreadStore, term: str) -> list[list[tuple[str, str]]]:
    pages: list[list[tuple[str, str]]] = []
    cursor = None
    while True:
        page = await store.search_threads(SearchThreadsParams(term, page_size=3, cursor=cursor))
        pages.append([(hit.thread.thread_id, hit.snippet) for hit in page.items])
        cursor = page.next_cursor
        if cursor is None:
            return pages


@pytest.mark.parametrize("budget", [1000, 2], ids=["walk", "walk-then-index"])
async def test_walking_and_the_index_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
    store = LocalThreadStore(tmp_path / "home")
    try:
        for n in range(12):
            text = f"note {n}: the storage layer" if n % 3 else f"note {n}: something else"
            await make_thread(store, text)
        expected = await _pages(store, "storage")  # few matching texts: the trigram index
        assert sum(len(p) for p in expected) == 8
        monkeypatch.setattr(local_module, "_COMMON_TERM_TEXTS", 1)
        monkeypatch.setattr(local_module, "_WALK_BUDGET", budget)
        assert await _pages(store, "storage") == expected
        assert await _pages(store, "absent-term") == [[]]
    finally:
        await store.close()
