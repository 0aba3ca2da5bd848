"""The local store's SQLite index: a cache of every rollout's summary, names and message text.

The index lives in its own file (``.threadstore/index.sqlite3``) and can always be rebuilt from
the rollouts and ``session_index.jsonl`` (``LocalThreadStore.reindex``). It exists to make
listing and search cost independent of the number of threads. Only the ``overrides`` table
(metadata fields set by patches that have no home in the rollout format) is not derived from the
files; a rebuild keeps it. Every SQL statement of the local store is in this package.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from threadstore import _json
from threadstore._backends.local.index import texts
from threadstore._backends.local.index.rows import (
    THREAD_COLUMNS,
    FileState,
    IndexRow,
    NewRow,
    PageQuery,
    PageRow,
    row_values,
)
from threadstore._backends.local.index.schema import connect, delete_database
from threadstore._backends.local.index.texts import trigram_query
from threadstore._backends.shared.query import normalize_cwd
from threadstore._contract.patch import ThreadMetadataPatch
from threadstore._contract.serialize import thread_to_json
from threadstore._contract.types import StoredThread, source_kind
from threadstore._rollout.summary import ThreadSummary
from threadstore._time import to_ms

__all__ = ["Index", "trigram_query"]

_INSERT_THREAD: Final = (
    f"INSERT INTO threads (num, thread_id, {', '.join(THREAD_COLUMNS)}, text_count) "
    f"VALUES ({', '.join('?' * (len(THREAD_COLUMNS) + 3))})"
)
_THREAD_JSON: Final = THREAD_COLUMNS.index("thread_json")
_UPDATE_THREAD: Final = f"UPDATE threads SET {', '.join(c + ' = ?' for c in THREAD_COLUMNS)} WHERE num = ?"


class Index:
    """Access to the index database through one connection, used by one thread at a time (the
    event loop has one; the background fill opens its own). Write transactions of different
    connections wait for each other (SQLite's busy timeout); readers never wait (WAL)."""

    def __init__(self, path: Path, *, checkpoints: bool = True) -> None:
        """Open the index at ``path``. Without ``checkpoints`` this connection never copies the
        write-ahead log into the database after a commit (a :class:`Checkpointer` does)."""
        self.path = path
        self._conn = connect(path)
        if not checkpoints:
            self._conn.execute("PRAGMA wal_autocheckpoint=0")

    # -- connection ------------------------------------------------------------------------------

    def close(self) -> None:
        # Fold the write-ahead log back into the database so it does not linger on disk.
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()

    def checkpoint(self) -> None:
        """Copy what the write-ahead log holds into the database (what readers still need stays)."""
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def recreate(self) -> None:
        """Replace the database with an empty one (the old one is corrupt)."""
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
        delete_database(self.path)
        self._conn = connect(self.path)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def reset(self, keep_overrides: bool = True) -> None:
        """Empty every derived table (for a rebuild)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM threads")
            conn.execute("DELETE FROM dirs")
            conn.execute("DELETE FROM names")
            conn.execute("DELETE FROM meta")
            conn.execute("INSERT INTO texts (texts) VALUES ('delete-all')")
            conn.execute("DELETE FROM bodies")
            conn.execute("DELETE FROM unindexed")
            if not keep_overrides:
                conn.execute("DELETE FROM overrides")

    def bulk_texts(self, on: bool, merge: bool = True) -> None:
        """:func:`.texts.bulk_texts`, in a transaction of its own."""
        with self.transaction() as conn:
            texts.bulk_texts(conn, on, merge)

    # -- meta / dirs -----------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def dir_mtimes(self) -> dict[str, int]:
        return dict(self._conn.execute("SELECT path, mtime_ns FROM dirs").fetchall())

    def set_dir(self, path: str, mtime_ns: int) -> None:
        self._conn.execute(
            "INSERT INTO dirs (path, mtime_ns) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET mtime_ns = excluded.mtime_ns",
            (path, mtime_ns),
        )

    def forget_dir(self, path: str) -> None:
        self._conn.execute("DELETE FROM dirs WHERE path = ?", (path,))

    # -- names and overrides -----------------------------------------------------------------------

    def set_names(self, names: dict[str, str], replace: bool = False) -> list[str]:
        """Store names (id → name, "" = cleared); return the ids whose name changed. With
        ``replace``, ``names`` is the whole file: entries of other ids are dropped."""
        changed: list[str] = []
        if replace:
            for (thread_id,) in self._conn.execute("SELECT thread_id FROM names").fetchall():
                if thread_id not in names:
                    self._conn.execute("DELETE FROM names WHERE thread_id = ?", (thread_id,))
                    changed.append(thread_id)
        for thread_id, name in names.items():
            row = self._conn.execute("SELECT name FROM names WHERE thread_id = ?", (thread_id,)).fetchone()
            if row is None or row[0] != name:
                self._conn.execute(
                    "INSERT INTO names (thread_id, name) VALUES (?, ?) ON CONFLICT(thread_id) DO UPDATE SET name = excluded.name",
                    (thread_id, name),
                )
                changed.append(thread_id)
        return changed

    def name_entry(self, thread_id: str) -> str | None:
        """The ``session_index.jsonl`` name of a thread: None = no entry, "" = cleared."""
        row = self._conn.execute("SELECT name FROM names WHERE thread_id = ?", (thread_id,)).fetchone()
        return row[0] if row else None

    def names_of(self, thread_ids: Sequence[str] | None) -> dict[str, str]:
        """The ``session_index.jsonl`` entries of several threads, or of all (None): id → name
        ("" = cleared)."""
        return dict(self._in("SELECT thread_id, name FROM names", thread_ids))

    def overrides_of(self, thread_ids: Sequence[str] | None) -> dict[str, dict[str, Any]]:
        """The stored overrides of several threads, or of all (None), as their JSON (threads
        without any: absent)."""
        rows = self._in("SELECT thread_id, patch FROM overrides", thread_ids)
        return {thread_id: _json.loads(patch) for thread_id, patch in rows}

    def _in(self, select: str, keys: Sequence[str] | None) -> list[Any]:
        """``select`` restricted to ``thread_id IN keys`` (every row when ``keys`` is None)."""
        if keys is None:
            return self._conn.execute(select).fetchall()
        rows: list[Any] = []
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            sql = f"{select} WHERE thread_id IN ({','.join('?' * len(part))})"
            rows.extend(self._conn.execute(sql, part).fetchall())
        return rows

    def overrides(self, thread_id: str) -> ThreadMetadataPatch:
        row = self._conn.execute("SELECT patch FROM overrides WHERE thread_id = ?", (thread_id,)).fetchone()
        return ThreadMetadataPatch.from_json(_json.loads(row[0])) if row else ThreadMetadataPatch()

    def set_overrides(self, thread_id: str, patch: ThreadMetadataPatch) -> None:
        if patch.is_empty():
            self._conn.execute("DELETE FROM overrides WHERE thread_id = ?", (thread_id,))
            return
        self._conn.execute(
            "INSERT INTO overrides (thread_id, patch) VALUES (?, ?) ON CONFLICT(thread_id) DO UPDATE SET patch = excluded.patch",
            (thread_id, _json.dumps_str(patch.to_json())),
        )

    # -- threads ---------------------------------------------------------------------------------

    _COLUMNS: Final = "num, thread_id, path, archived, summary, file_size, mtime_ns, ino, text_count, thread_json"

    def _row(self, values: Sequence[Any]) -> IndexRow:
        return IndexRow(
            num=values[0],
            thread_id=values[1],
            path=values[2],
            archived=bool(values[3]),
            summary=ThreadSummary.from_state(_json.loads(values[4])),
            file_size=values[5],
            mtime_ns=values[6],
            ino=values[7],
            text_count=values[8],
            thread_json=values[9],
        )

    def get(self, thread_id: str) -> IndexRow | None:
        values = self._conn.execute(f"SELECT {self._COLUMNS} FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
        return self._row(values) if values else None

    def location(self, thread_id: str) -> tuple[str, int] | None:
        """(path, inode) of an indexed thread."""
        row = self._conn.execute("SELECT path, ino FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def paths_under(self, directory: str) -> dict[str, str]:
        """path → thread id for rows whose rollout lies directly in ``directory``."""
        prefix = directory.rstrip("/") + "/"
        rows = self._conn.execute(
            "SELECT path, thread_id FROM threads WHERE path >= ? AND path < ?", (prefix, prefix + "\U0010ffff")
        ).fetchall()
        return {p: t for p, t in rows if "/" not in p[len(prefix) :]}

    def files_after(self, num: int, limit: int) -> list[tuple[int, str, FileState]]:
        """(num, thread id, file state) of up to ``limit`` rows after row ``num``, in row order."""
        rows = self._conn.execute(
            "SELECT num, thread_id, path, file_size, mtime_ns, ino FROM threads WHERE num > ? ORDER BY num LIMIT ?",
            (num, limit),
        ).fetchall()
        return [(row[0], row[1], FileState(*row[2:])) for row in rows]

    def upsert(
        self,
        *,
        thread: StoredThread,
        path: str,
        archived: bool,
        summary: ThreadSummary,
        file_size: int,
        mtime_ns: int,
        ino: int,
        new_texts: Iterable[str],
        reset_texts: bool,
    ) -> IndexRow:
        """Insert or replace one row, add its new message texts to the full-text index, and
        return the row as stored."""
        conn = self._conn
        values = row_values(
            thread, summary, path=path, archived=archived, file_size=file_size, mtime_ns=mtime_ns, ino=ino
        )
        existing = conn.execute(
            "SELECT num, text_count FROM threads WHERE thread_id = ?", (thread.thread_id,)
        ).fetchone()
        if existing is None:
            num = self._next_num()
            text_count = 0
            conn.execute(_INSERT_THREAD, (num, thread.thread_id, *values, 0))
        else:
            num, text_count = existing
            if reset_texts:
                texts.delete_texts(self._conn, num)
                text_count = 0
            conn.execute(_UPDATE_THREAD, (*values, num))
        added = texts.add_texts(self._conn, num, text_count, new_texts)
        if added:
            conn.execute("UPDATE threads SET text_count = ? WHERE num = ?", (text_count + added, num))
        return IndexRow(
            num=num,
            thread_id=thread.thread_id,
            path=path,
            archived=archived,
            summary=summary,
            file_size=file_size,
            mtime_ns=mtime_ns,
            ino=ino,
            text_count=text_count + added,
            thread_json=values[_THREAD_JSON],
        )

    def insert_new(self, rows: Sequence[NewRow], *, defer_texts: bool = False) -> set[str]:
        """Add the rows of threads the index does not have yet, with their texts, in one go (in
        the caller's transaction); with ``defer_texts`` the texts are stored but left out of the
        trigram index until :meth:`index_pending_texts`. Returns the ids of ``rows`` that were
        already indexed (or came twice): those rows are left as they are."""
        conn = self._conn
        present = {t for (t,) in self._in("SELECT thread_id FROM threads", [r.thread_id for r in rows])}
        skipped = set(present)
        num = self._next_num() - 1
        threads: list[tuple[Any, ...]] = []
        new_texts: list[tuple[int, list[str]]] = []
        for row in rows:
            if row.thread_id in present:
                skipped.add(row.thread_id)
                continue
            present.add(row.thread_id)
            num += 1
            threads.append((num, row.thread_id, *row.values, len(row.texts)))
            new_texts.append((num, row.texts))
        conn.executemany(_INSERT_THREAD, threads)
        texts.store_texts(conn, new_texts, defer=defer_texts)
        return skipped

    def has_pending_texts(self) -> bool:
        return texts.has_pending_texts(self._conn)

    def index_pending_texts(self, threads: int) -> bool:
        """:func:`.texts.index_pending_texts` (in the caller's transaction)."""
        return texts.index_pending_texts(self._conn, threads)

    def _next_num(self) -> int:
        return int(self._conn.execute("SELECT coalesce(max(num), 0) + 1 FROM threads").fetchone()[0])

    def update_thread_json(self, thread: StoredThread) -> None:
        """Refresh the cached thread (name and override changes) without touching the summary."""
        self._conn.execute(
            "UPDATE threads SET thread_json = ?, name = ?, updated_ms = ?, created_ms = ?, preview = ?, "
            "first_user_message = ?, model_provider = ?, cwd = ?, source_kind = ?, source_json = ?, labels = ? "
            "WHERE thread_id = ?",
            (
                _json.dumps(thread_to_json(thread)),
                thread.name,
                to_ms(thread.updated_at),
                to_ms(thread.created_at),
                thread.preview,
                thread.first_user_message or "",
                thread.model_provider,
                normalize_cwd(thread.cwd),
                source_kind(thread.source),
                _json.dumps_str(thread.source),
                _json.dumps_str(dict(thread.labels)),
                thread.thread_id,
            ),
        )

    def delete(self, thread_id: str) -> None:
        row = self._conn.execute("SELECT num FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
        if row is not None:
            texts.delete_texts(self._conn, row[0])
            self._conn.execute("DELETE FROM threads WHERE num = ?", (row[0],))

    def drop_stale(self, fold_version: int) -> int:
        """Drop the rows an older fold made (``fold_version`` below the given one), and forget
        their directories, so that the next scan indexes those rollouts again. Names and
        overrides stay. Returns how many rows were dropped. (Cheap once done: the index notes
        the version its rows are at.)"""
        if self.get_meta("fold_version") == str(fold_version):
            return 0
        with self.transaction() as conn:
            stale = conn.execute("SELECT num, path FROM threads WHERE fold_version < ?", (fold_version,)).fetchall()
            for num, _ in stale:
                texts.delete_texts(conn, num)
            conn.execute("DELETE FROM threads WHERE fold_version < ?", (fold_version,))
            for directory in {os.path.dirname(path) for _, path in stale}:
                conn.execute("DELETE FROM dirs WHERE path = ?", (directory,))
            self.set_meta("fold_version", str(fold_version))
        return len(stale)

    def forget_thread(self, thread_id: str) -> None:
        """Remove every trace of a deleted thread (row, texts, name, overrides)."""
        self.delete(thread_id)
        self._conn.execute("DELETE FROM names WHERE thread_id = ?", (thread_id,))
        self._conn.execute("DELETE FROM overrides WHERE thread_id = ?", (thread_id,))

    # -- queries ---------------------------------------------------------------------------------

    def page(self, query: PageQuery) -> list[PageRow]:
        """The threads of one page query (an index serves every order)."""
        sql, args = query.sql()
        return [PageRow(*row) for row in self._conn.execute(sql, args).fetchall()]

    def matches_at_least(self, fts_query: str, count: int) -> bool:
        return texts.matches_at_least(self._conn, fts_query, count)

    def first_text(self, num: int, term: str) -> str | None:
        return texts.first_text(self._conn, num, term)
