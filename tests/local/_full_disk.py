"""Run inside a private mount namespace whose ``HOME_DIR`` is a tiny tmpfs: fill the disk, then
try every kind of operation and print, for each, ``ok`` or the store error's kind (any other
exception is printed as ``foreign:<name>``). Then free the space and check that the store works.

Usage: ``python _full_disk.py HOME_DIR``; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    ListThreadsParams,
    ReadThreadParams,
    SearchThreadsParams,
    ThreadMetadataPatch,
    ThreadStoreError,
    UpdateThreadMetadataParams,
    items,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore


async def _try(results: dict[str, str], name: str, action: Callable[[], Awaitable[object]]) -> None:
    try:
        await action()
    except ThreadStoreError as exc:
        results[name] = exc.kind
    except Exception as exc:  # what the test is looking for
        results[name] = f"foreign:{type(exc).__name__}:{exc}"
    else:
        results[name] = "ok"


async def _thread(store: LocalThreadStore, text: str) -> str:
    tid = new_thread_id()
    await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
    await store.append_items(AppendThreadItemsParams(tid, [items.user_message(text), items.agent_message(text)]))
    await store.shutdown_thread(tid)
    return tid


def _fill(filler: Path) -> None:
    """Take every free byte of the disk."""
    with contextlib.suppress(OSError), open(filler, "wb") as f:
        while True:
            f.write(b"\0" * 4096)
            f.flush()


async def main(home: Path) -> None:
    store = LocalThreadStore(home)
    kept = [await _thread(store, f"before the disk filled {n}") for n in range(3)]
    filler = home / "filler"
    _fill(filler)
    results: dict[str, str] = {}
    await _try(results, "new_thread", lambda: _thread(store, "x" * 20000))
    await _try(results, "list", lambda: store.list_threads(ListThreadsParams()))
    await _try(results, "search", lambda: store.search_threads(SearchThreadsParams(search_term="disk")))
    await _try(results, "read", lambda: store.read_thread(ReadThreadParams(kept[0])))
    patch = ThreadMetadataPatch(name="renamed while full")
    await _try(results, "rename", lambda: store.update_thread_metadata(UpdateThreadMetadataParams(kept[1], patch)))
    await _try(results, "archive", lambda: store.archive_thread(kept[2]))
    await _try(results, "reindex", lambda: store.reindex())
    os.unlink(filler)
    after: dict[str, str] = {}
    await _try(after, "new_thread", lambda: _thread(store, "after the space came back"))
    page = await store.list_threads(ListThreadsParams(page_size=100))
    await store.close()
    listed = sorted(t.preview for t in page.items)
    print(json.dumps({"full": results, "after": after, "listed": listed}))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
