"""Rows an older fold made are folded again from their items: in the background once a store
opens the database, when a writer resumes such a thread, and under the row lock of a metadata
change; labels filters then find them."""

from __future__ import annotations

import asyncio

from threadstore import (
    AppendThreadItemsParams,
    ListThreadsParams,
    ReadThreadParams,
    ResumeThreadParams,
    ThreadMetadataPatch,
    UpdateThreadMetadataParams,
    items,
)
from threadstore._backends.postgres import PostgresThreadStore
from threadstore._rollout.summary import FOLD_VERSION
from threadstore.testing import new_thread

from ._util import sql
from .conftest import StoreFactory


def _age(dsn: str) -> None:
    """Make every row look like one the fold before labels wrote."""
    rows = sql(dsn, "SELECT thread_id, summary FROM threadstore.threads")
    for tid, summary in rows:
        old = bytes(summary).replace(b'"labels"', b'"_labels"').replace(b'"fold_version"', b'"_fold_version"')
        sql(dsn, "UPDATE threadstore.threads SET summary = %s, labels = '{}', fold_version = 1 WHERE thread_id = %s", old, tid)


async def _labelled(store: PostgresThreadStore, labels: dict[str, str]) -> list[str]:
    return [t.thread_id for t in (await store.list_threads(ListThreadsParams(labels=labels))).items]


async def test_a_store_folds_old_rows_again_in_the_background(open_pg: StoreFactory, postgres_dsn: str) -> None:
    first = open_pg()
    tids = [await new_thread(first, f"thread {n}", labels={"host": "alpha"}) for n in range(3)]
    await first.close()
    _age(postgres_dsn)
    later = open_pg()
    assert await _labelled(later, {"host": "nobody"}) == []  # opens the database, starts the pass
    for _ in range(200):
        if sql(postgres_dsn, "SELECT count(*) FROM threadstore.threads WHERE fold_version < %s", FOLD_VERSION) == [(0,)]:
            break
        await asyncio.sleep(0.05)
    assert sorted(await _labelled(later, {"host": "alpha"})) == sorted(tids)


async def test_a_resumed_writer_and_a_metadata_change_fold_old_rows_first(
    open_pg: StoreFactory, postgres_dsn: str
) -> None:
    first = open_pg()
    resumed = await new_thread(first, "resume me", labels={"host": "alpha"})
    patched = await new_thread(first, "patch me", labels={"host": "alpha"})
    await first.close()
    _age(postgres_dsn)
    later = open_pg()
    later.db.on_ready = None  # no background pass: the two paths below must do it themselves
    await later.resume_thread(ResumeThreadParams(resumed))
    await later.append_items(AppendThreadItemsParams(resumed, [items.agent_message("more")]))
    await later.shutdown_thread(resumed)
    changed = await later.update_thread_metadata(
        UpdateThreadMetadataParams(patched, ThreadMetadataPatch(labels={"owner": "ana"}))
    )
    assert dict(changed.labels) == {"host": "alpha", "owner": "ana"}
    assert dict((await later.read_thread(ReadThreadParams(resumed))).labels) == {"host": "alpha"}
    assert sorted(await _labelled(later, {"host": "alpha"})) == sorted([resumed, patched])
