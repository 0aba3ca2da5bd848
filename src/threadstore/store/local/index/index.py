"""The local store's SQLite index: a cache of every rollout's summary, names and message text.

The index lives in its own file (``.threadstore/index.sqlite3``) and can always be rebuilt from
the rollouts and ``session_index.jsonl`` (``LocalThreadStore.reindex``). It exists to make
listing and search cost independent of the number of threads. Only the ``overrides`` table
(metadata fields set by patches that have no home in the rollout format) is not derived from the
files; a rebuild keeps it. Every SQL statement of the local store is in this package.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from .... import _json
from ....timeutil import to_ms
from ...patch import ThreadMetadataPatch
from ...query import normalize_cwd
from ...serialize import thread_to_json
from ...summary import ThreadSummary
from ...types import StoredThread, source_kind
from .rows import THREAD_COLUMNS, FileState, IndexRow, NewRow, PageQuery, PageRow, row_values
from .schema import MAX_TEXT_CHARS, TEXT_SHIFT, connect, delete_database, fold

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

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path)

    # -- connection ------------------------------------------------------------------------------

    def close(self) -> None:
        # Fold the write-ahead log back into the database so it does not linger on disk.
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()

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
        """Full-text index settings for adding many texts: with ``on``, its segments are not
        merged as they are written (merging after every small transaction costs more than the
        writing); turned off, the usual merging is back and the index is merged into one
        segment (unless not ``merge``). A setting of the database, shared by its connections: a
        process that dies in between leaves merging off (searches stay right, only slower) until
        the next bulk ends."""
        with self.transaction() as conn:
            if on:
                conn.execute("INSERT INTO texts (texts, rank) VALUES ('automerge', 0)")
                conn.execute("INSERT INTO texts (texts, rank) VALUES ('crisismerge', 64)")
            else:
                conn.execute("INSERT INTO texts (texts, rank) VALUES ('automerge', 4)")
                conn.execute("INSERT INTO texts (texts, rank) VALUES ('crisismerge', 16)")
                if merge:
                    conn.execute("INSERT INTO texts (texts) VALUES ('optimize')")

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

    def dir_mtime(self, path: str) -> int | None:
        row = self._conn.execute("SELECT mtime_ns FROM dirs WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

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

    def get_by_path(self, path: str) -> IndexRow | None:
        values = self._conn.execute(f"SELECT {self._COLUMNS} FROM threads WHERE path = ?", (path,)).fetchone()
        return self._row(values) if values else None

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
                self._delete_texts(num)
                text_count = 0
            conn.execute(_UPDATE_THREAD, (*values, num))
        added = self._add_texts(num, text_count, new_texts)
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
        bodies: list[tuple[int, str]] = []
        for row in rows:
            if row.thread_id in present:
                skipped.add(row.thread_id)
                continue
            present.add(row.thread_id)
            num += 1
            texts = [text[:MAX_TEXT_CHARS] for text in row.texts]
            threads.append((num, row.thread_id, *row.values, len(texts)))
            bodies.extend(((num << TEXT_SHIFT) | k, body) for k, body in enumerate(texts))
        conn.executemany(_INSERT_THREAD, threads)
        conn.executemany("INSERT INTO bodies (id, body) VALUES (?, ?)", bodies)
        if defer_texts:
            conn.executemany("INSERT INTO unindexed (num) VALUES (?)", [(t[0],) for t in threads if t[-1]])
        else:
            conn.executemany("INSERT INTO texts (rowid, folded) VALUES (?, ?)", [(i, fold(b)) for i, b in bodies])
        return skipped

    def has_pending_texts(self) -> bool:
        return self._conn.execute("SELECT 1 FROM unindexed LIMIT 1").fetchone() is not None

    def index_pending_texts(self, threads: int) -> bool:
        """Move the texts of up to ``threads`` threads into the trigram index (in the caller's
        transaction); False once none is left."""
        row = self._conn.execute(
            "SELECT max(num), count(*) FROM (SELECT num FROM unindexed ORDER BY num LIMIT ?)", (threads,)
        ).fetchone()
        if not row[1]:
            return False
        texts = self._conn.execute(
            f"SELECT b.id, b.body FROM unindexed u JOIN bodies b ON b.id >= u.num << {TEXT_SHIFT} "
            f"AND b.id < (u.num + 1) << {TEXT_SHIFT} WHERE u.num <= ?",
            (row[0],),
        ).fetchall()
        self._conn.executemany("INSERT INTO texts (rowid, folded) VALUES (?, ?)", [(i, fold(b)) for i, b in texts])
        self._conn.execute("DELETE FROM unindexed WHERE num <= ?", (row[0],))
        return bool(row[1] == threads)

    def _next_num(self) -> int:
        return int(self._conn.execute("SELECT coalesce(max(num), 0) + 1 FROM threads").fetchone()[0])

    def _add_texts(self, num: int, start: int, texts: Iterable[str]) -> int:
        """Store texts of thread ``num`` from sequence ``start`` on (in the trigram index too,
        unless the thread's earlier texts are still waiting for it: they all go in together)."""
        pending: bool | None = None
        added = 0
        for text in texts:
            if pending is None:
                pending = self._conn.execute("SELECT 1 FROM unindexed WHERE num = ?", (num,)).fetchone() is not None
            body = text[:MAX_TEXT_CHARS]
            text_id = (num << TEXT_SHIFT) | (start + added)
            self._conn.execute("INSERT INTO bodies (id, body) VALUES (?, ?)", (text_id, body))
            if not pending:
                self._conn.execute("INSERT INTO texts (rowid, folded) VALUES (?, ?)", (text_id, fold(body)))
            added += 1
        return added

    def update_thread_json(self, thread: StoredThread) -> None:
        """Refresh the cached thread (name and override changes) without touching the summary."""
        self._conn.execute(
            "UPDATE threads SET thread_json = ?, name = ?, updated_ms = ?, created_ms = ?, preview = ?, "
            "first_user_message = ?, model_provider = ?, cwd = ?, source_kind = ?, source_json = ? WHERE thread_id = ?",
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
                thread.thread_id,
            ),
        )

    def _delete_texts(self, num: int) -> None:
        span = (num << TEXT_SHIFT, (num + 1) << TEXT_SHIFT)
        if self._conn.execute("DELETE FROM unindexed WHERE num = ?", (num,)).rowcount:
            # Not in the trigram index yet: only the stored texts go.
            self._conn.execute("DELETE FROM bodies WHERE id >= ? AND id < ?", span)
            return
        # An external-content index forgets a text when told the values it indexed.
        self._conn.execute(
            "INSERT INTO texts (texts, rowid, folded) SELECT 'delete', id, ts_fold(body) FROM bodies "
            "WHERE id >= ? AND id < ?",
            span,
        )
        self._conn.execute("DELETE FROM bodies WHERE id >= ? AND id < ?", span)

    def delete(self, thread_id: str) -> None:
        row = self._conn.execute("SELECT num FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
        if row is not None:
            self._delete_texts(row[0])
            self._conn.execute("DELETE FROM threads WHERE num = ?", (row[0],))

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
        """Whether at least ``count`` stored texts match ``fts_query`` (stops counting there)."""
        row = self._conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM texts WHERE texts MATCH ? LIMIT ?)", (fts_query, count)
        ).fetchone()
        return bool(row[0] >= count)

    def first_text(self, num: int, term: str) -> str | None:
        """The first stored text of thread ``num`` that contains ``term`` (case-insensitive).

        A rowid-range scan of that thread's texts: cheap, unlike a MATCH restricted to the
        range, which would evaluate the term's whole posting list once per thread."""
        lo, hi = num << TEXT_SHIFT, (num + 1) << TEXT_SHIFT
        row = self._conn.execute(
            "SELECT body FROM bodies WHERE id >= ? AND id < ? AND ts_contains(body, ?) ORDER BY id LIMIT 1",
            (lo, hi, term),
        ).fetchone()
        return row[0] if row else None


def trigram_query(term: str) -> str | None:
    """An FTS5 query matching texts whose folded form holds every trigram of the folded
    ``term`` (None when that is shorter than three characters). The index keeps no positions (``detail=none``, a third of
    the size), so callers confirm each candidate with a substring test."""
    term = fold(term)
    if len(term) < 3:
        return None
    grams = dict.fromkeys(term[i : i + 3] for i in range(len(term) - 2))
    return " AND ".join('"' + gram.replace('"', '""') + '"' for gram in grams)
