"""``threadstore copy`` between the local store and PostgreSQL, both ways, safe to re-run."""

from __future__ import annotations

import json
from pathlib import Path

from threadstore import ListThreadsParams, LoadThreadHistoryParams, ThreadStore
from threadstore._backends.local import LocalThreadStore

from ..cli.helpers import invoke, with_store
from ..cli.test_copy import assert_same_threads, seed


async def _count_items(store: ThreadStore) -> int:
    total = 0
    for archived in (False, True):
        for thread in (await store.list_threads(ListThreadsParams(archived=archived))).items:
            loaded = await store.load_history(LoadThreadHistoryParams(thread.thread_id, include_archived=True))
            total += len(loaded.items)
    return total


def test_copy_local_to_postgres_and_back(tmp_path: Path, postgres_dsn: str) -> None:
    source = f"local:{tmp_path / 'a'}"
    ids = with_store(source, lambda s: seed(s, str(tmp_path / "work")))
    code, out, err = invoke(source, "copy", "--to", postgres_dsn, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["copied"], report["skipped"], report["failed"]) == (len(ids), 0, 0)
    stored = with_store(postgres_dsn, _count_items)

    async def same_as_source(store: ThreadStore) -> None:
        async with LocalThreadStore(home=tmp_path / "a") as local:
            await assert_same_threads(local, store, ids)

    with_store(postgres_dsn, same_as_source)

    # Re-running copies nothing twice.
    code, out, err = invoke(source, "copy", "--to", postgres_dsn)
    assert code == 0, err
    assert f"copied 0, skipped {len(ids)}, failed 0" in out
    assert with_store(postgres_dsn, _count_items) == stored

    # And back into a new local home: the same threads again.
    back = f"local:{tmp_path / 'b'}"
    code, out, err = invoke(postgres_dsn, "copy", "--to", back, "--json")
    assert code == 0, err
    assert json.loads(out)["copied"] == len(ids)

    with_store(back, same_as_source)
