"""The local index keeps up with the fold: rows an older fold made are folded again from their
rollouts when a store opens (names and overrides stay), and an index of the previous schema is
upgraded in place rather than thrown away (its overrides, which no file holds, survive)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from threadstore import ListThreadsParams, ReadThreadParams, ThreadMetadataPatch, UpdateThreadMetadataParams
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.local.index.schema import SCHEMA_VERSION
from threadstore._rollout.summary import FOLD_VERSION
from threadstore.testing import new_thread


def _index(home: Path) -> Path:
    return home / ".threadstore" / "index.sqlite3"


async def _labelled(store: LocalThreadStore, labels: dict[str, str]) -> list[str]:
    return [t.thread_id for t in (await store.list_threads(ListThreadsParams(labels=labels))).items]


async def test_rows_of_an_older_fold_are_folded_again_on_open(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with LocalThreadStore(home) as store:
        tid = await new_thread(store, "from an older fold", labels={"host": "alpha"})
        await store.update_thread_metadata(
            UpdateThreadMetadataParams(tid, ThreadMetadataPatch(name="kept name", model="kept override"))
        )
    # What an index written by the fold before labels looks like: no labels in its rows.
    with sqlite3.connect(_index(home)) as conn:
        conn.execute("UPDATE threads SET labels = '{}', fold_version = 1")
        conn.execute("DELETE FROM meta WHERE key = 'fold_version'")
    async with LocalThreadStore(home) as store:
        assert await _labelled(store, {"host": "alpha"}) == [tid]
        thread = await store.read_thread(ReadThreadParams(tid))
        assert (thread.name, thread.model, dict(thread.labels)) == ("kept name", "kept override", {"host": "alpha"})
    with sqlite3.connect(_index(home)) as conn:
        assert conn.execute("SELECT DISTINCT fold_version FROM threads").fetchall() == [(FOLD_VERSION,)]


async def test_an_index_of_the_previous_schema_is_upgraded_with_its_overrides(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with LocalThreadStore(home) as store:
        tid = await new_thread(store, "an old index", labels={"host": "alpha"})
        await store.update_thread_metadata(UpdateThreadMetadataParams(tid, ThreadMetadataPatch(model="override")))
    with sqlite3.connect(_index(home)) as conn:  # back to schema 5: no label or fold columns
        conn.execute("ALTER TABLE threads DROP COLUMN labels")
        conn.execute("ALTER TABLE threads DROP COLUMN fold_version")
        conn.execute("PRAGMA user_version=5")
    async with LocalThreadStore(home) as store:
        thread = await store.read_thread(ReadThreadParams(tid))
        assert thread.model == "override"  # the override lives only in the index, and survived
        assert await _labelled(store, {"host": "alpha"}) == [tid]
    with sqlite3.connect(_index(home)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
