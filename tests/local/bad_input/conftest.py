"""The home the bad-input tests refuse to change: one cold and one archived thread, and a store
on it that refuses items over 64 KiB."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from threadstore import ThreadMetadataPatch, UpdateThreadMetadataParams
from threadstore._backends.local import LocalThreadStore

from .._util import make_thread, open_store


@pytest.fixture
async def home(tmp_path: Path) -> Path:
    """A home with one cold and one archived thread."""
    home = tmp_path / "home"
    store = open_store(home)
    await make_thread(store, "cold one")
    archived = await make_thread(store, "archived one")
    await store.update_thread_metadata(UpdateThreadMetadataParams(archived, ThreadMetadataPatch(name="named")))
    await store.archive_thread(archived)
    await store.close()
    return home


@pytest.fixture
async def store(home: Path) -> AsyncIterator[LocalThreadStore]:
    """A store on ``home`` that refuses items over 64 KiB."""
    s = open_store(home, max_item_bytes=64 * 1024)
    try:
        yield s
    finally:
        await s.close()
