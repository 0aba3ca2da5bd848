"""The page index database: each thread's turn index and where its records lie in its files.

A cache beside the main index, in its own file (``.threadstore/pages.sqlite3``), so that keeping
it costs the main index nothing: it is brought up to date with a thread's rollout when a page of
that thread is asked for, and can be deleted at any time (it is rebuilt from the files).

``heads``
    One row per thread: ``source`` (JSON: which files the history is read from and how far they
    were read, see :mod:`..pages`) and ``head`` (JSON of the turn index's
    :class:`~threadstore._rollout.turn_index.IndexHead`).
``spans``
    The turn index's spans (:class:`~threadstore._rollout.turn_index.TurnSpan`), by thread and
    position, with indexes to find a turn by item ordinal and by id.
``marks``
    Where every :data:`MARK_EVERY`-th record's line starts (segment, byte offset), so a read of
    records from any ordinal seeks close to it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final

from threadstore import _json
from threadstore._backends.local.index.schema import connect, delete_database
from threadstore._rollout.turn_index import IndexHead, TurnSpan

__all__ = ["MARK_EVERY", "PagesDB"]

MARK_EVERY: Final = 64
_VERSION: Final = 1

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS heads (
    num INTEGER PRIMARY KEY,
    thread_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    head TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS spans (
    num INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    turn_id TEXT NOT NULL,
    first_ordinal INTEGER NOT NULL,
    end_ordinal INTEGER NOT NULL,
    open INTEGER NOT NULL,
    implicit INTEGER NOT NULL,
    legacy_before INTEGER NOT NULL,
    implicit_before INTEGER NOT NULL,
    items_before INTEGER NOT NULL,
    item_count INTEGER NOT NULL,
    legacy_count INTEGER NOT NULL,
    PRIMARY KEY (num, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS spans_by_item ON spans (num, items_before);
CREATE INDEX IF NOT EXISTS spans_by_turn ON spans (num, turn_id);
CREATE TABLE IF NOT EXISTS marks (
    num INTEGER NOT NULL,
    ordinal INTEGER NOT NULL,
    segment INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    PRIMARY KEY (num, ordinal)
) WITHOUT ROWID;
"""

_SPAN_COLUMNS: Final = (
    "seq, turn_id, first_ordinal, end_ordinal, open, implicit, legacy_before, implicit_before, items_before, "
    "item_count, legacy_count"
)


class PagesDB:
    """Access to the page index database (one connection, used from the event-loop thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path, _SCHEMA, _VERSION)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()

    def recreate(self) -> None:
        """Replace the database with an empty one (the old one is corrupt)."""
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
        delete_database(self.path)
        self._conn = connect(self.path, _SCHEMA, _VERSION)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- heads -----------------------------------------------------------------------------------

    def load(self, thread_id: str) -> tuple[int, dict[str, Any], IndexHead] | None:
        row = self._conn.execute("SELECT num, source, head FROM heads WHERE thread_id = ?", (thread_id,)).fetchone()
        if row is None:
            return None
        return row[0], _json.loads(row[1]), IndexHead.from_json(_json.loads(row[2]))

    def start(self, thread_id: str, source: dict[str, Any], head: IndexHead) -> int:
        """A thread's row, empty (what was indexed of it before is dropped)."""
        self.forget(thread_id)
        cursor = self._conn.execute(
            "INSERT INTO heads (thread_id, source, head) VALUES (?, ?, ?)",
            (thread_id, _json.dumps_str(source), _json.dumps_str(head.to_json())),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def save(self, num: int, source: dict[str, Any], head: IndexHead) -> None:
        self._conn.execute(
            "UPDATE heads SET source = ?, head = ? WHERE num = ?",
            (_json.dumps_str(source), _json.dumps_str(head.to_json()), num),
        )

    def forget(self, thread_id: str) -> None:
        """Drop everything indexed of a thread."""
        row = self._conn.execute("SELECT num FROM heads WHERE thread_id = ?", (thread_id,)).fetchone()
        if row is None:
            return
        for table in ("spans", "marks", "heads"):
            self._conn.execute(f"DELETE FROM {table} WHERE num = ?", (row[0],))

    def reset(self) -> None:
        """Drop everything indexed of every thread."""
        with self.transaction():
            for table in ("spans", "marks", "heads"):
                self._conn.execute(f"DELETE FROM {table}")

    # -- spans -----------------------------------------------------------------------------------

    def spans(self, num: int, lo: int, hi: int) -> list[TurnSpan]:
        rows = self._conn.execute(
            f"SELECT {_SPAN_COLUMNS} FROM spans WHERE num = ? AND seq >= ? AND seq < ? ORDER BY seq", (num, lo, hi)
        ).fetchall()
        return [TurnSpan.from_row(row) for row in rows]

    def last_span(self, num: int) -> TurnSpan | None:
        row = self._conn.execute(
            f"SELECT {_SPAN_COLUMNS} FROM spans WHERE num = ? ORDER BY seq DESC LIMIT 1", (num,)
        ).fetchone()
        return TurnSpan.from_row(row) if row else None

    def span_with_item(self, num: int, ordinal: int) -> TurnSpan | None:
        # The last span starting at or before the ordinal holds it, if any span does.
        row = self._conn.execute(
            f"SELECT {_SPAN_COLUMNS} FROM spans WHERE num = ? AND items_before <= ? "
            "ORDER BY items_before DESC, seq DESC LIMIT 1",
            (num, ordinal),
        ).fetchone()
        span = TurnSpan.from_row(row) if row else None
        return span if span is not None and ordinal < span.items_after else None

    def spans_with_items(self, num: int, seq: int, ascending: bool, limit: int) -> list[TurnSpan]:
        if ascending:
            sql = f"SELECT {_SPAN_COLUMNS} FROM spans WHERE num = ? AND seq > ? AND item_count > 0 ORDER BY seq LIMIT ?"
        else:
            sql = (
                f"SELECT {_SPAN_COLUMNS} FROM spans WHERE num = ? AND seq < ? AND item_count > 0 "
                "ORDER BY seq DESC LIMIT ?"
            )
        return [TurnSpan.from_row(row) for row in self._conn.execute(sql, (num, seq, limit)).fetchall()]

    def spans_of_turn(self, num: int, turn_id: str) -> list[TurnSpan]:
        rows = self._conn.execute(
            f"SELECT {_SPAN_COLUMNS} FROM spans WHERE num = ? AND turn_id = ? ORDER BY seq", (num, turn_id)
        ).fetchall()
        return [TurnSpan.from_row(row) for row in rows]

    def replace_spans(self, num: int, start: int, spans: Iterable[TurnSpan]) -> None:
        """Replace the spans from position ``start`` on with ``spans``."""
        self._conn.execute("DELETE FROM spans WHERE num = ? AND seq >= ?", (num, start))
        self._conn.executemany(
            f"INSERT INTO spans (num, {_SPAN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(num, *s.to_row()) for s in spans],
        )

    # -- marks -----------------------------------------------------------------------------------

    def add_marks(self, num: int, marks: Iterable[tuple[int, int, int]]) -> None:
        """Record where records start: (ordinal, segment, byte offset)."""
        self._conn.executemany(
            "INSERT OR REPLACE INTO marks (num, ordinal, segment, offset) VALUES (?, ?, ?, ?)",
            [(num, *mark) for mark in marks],
        )

    def mark_before(self, num: int, ordinal: int) -> tuple[int, int, int] | None:
        """The nearest recorded (ordinal, segment, offset) at or before ``ordinal``."""
        row = self._conn.execute(
            "SELECT ordinal, segment, offset FROM marks WHERE num = ? AND ordinal <= ? ORDER BY ordinal DESC LIMIT 1",
            (num, ordinal),
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None
