"""The index database: its schema, how it is opened, and what SQLite's error codes mean here.

The file is a cache of the rollouts (see :mod:`.index`): a corrupt file or one of another schema
version is deleted and rebuilt, and a file busy in other processes (several stores opening a new
home at once) is waited for, never deleted.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Final

from threadstore.errors import Internal

__all__ = [
    "MAX_TEXT_CHARS",
    "SCHEMA_VERSION",
    "TEXT_SHIFT",
    "connect",
    "delete_database",
    "fold",
    "is_corruption",
    "is_full",
]

SCHEMA_VERSION: Final = 6

#: Forward steps from an older schema version: version -> the script that brings it one
#: version up. A version without a step (older ones) is deleted and rebuilt from the files,
#: which loses the overrides; a step keeps every row.
UPGRADES: Final[dict[int, str]] = {
    5: (
        "ALTER TABLE threads ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';"
        "ALTER TABLE threads ADD COLUMN fold_version INTEGER NOT NULL DEFAULT 1;"
        "DELETE FROM meta WHERE key = 'fold_version';"
    ),
}


_OPEN_TIMEOUT: Final = 30.0
_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
_SQLITE_CORRUPT: Final = 11
_SQLITE_FULL: Final = 13
_SQLITE_NOTADB: Final = 26


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0)) & 0xFF


def is_corruption(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says the database file is damaged (or not a database)."""
    return _code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


def is_full(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says the disk (or the database) is full."""
    return _code(exc) == _SQLITE_FULL


TEXT_SHIFT: Final = 24  # texts.rowid = thread num << TEXT_SHIFT | sequence
MAX_TEXT_CHARS: Final = 32_768

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dirs (path TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS threads (
    num INTEGER PRIMARY KEY,
    thread_id TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    archived INTEGER NOT NULL,
    visible INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    source_kind TEXT NOT NULL,
    source_json TEXT NOT NULL,
    model_provider TEXT NOT NULL,
    cwd TEXT NOT NULL,
    preview TEXT NOT NULL,
    first_user_message TEXT NOT NULL,
    name TEXT,
    thread_json BLOB NOT NULL,
    summary BLOB NOT NULL,
    file_size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    text_count INTEGER NOT NULL DEFAULT 0,
    labels TEXT NOT NULL DEFAULT '{}',
    fold_version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS threads_by_created ON threads (archived, visible, created_ms, thread_id);
CREATE INDEX IF NOT EXISTS threads_by_updated ON threads (archived, visible, updated_ms, thread_id);
CREATE INDEX IF NOT EXISTS threads_by_path ON threads (path);
CREATE TABLE IF NOT EXISTS names (thread_id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS overrides (thread_id TEXT PRIMARY KEY, patch TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bodies (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE VIEW IF NOT EXISTS folded_bodies AS SELECT id, ts_fold(body) AS folded FROM bodies;
CREATE VIRTUAL TABLE IF NOT EXISTS texts USING fts5 (
    folded, content = 'folded_bodies', content_rowid = 'id', tokenize = 'trigram', detail = none, columnsize = 0
);
CREATE TABLE IF NOT EXISTS unindexed (num INTEGER PRIMARY KEY);
"""
"""Message texts: ``bodies`` holds each text as written (for snippets), ``texts`` a trigram index
of its case-folded form (``bodies.id`` = thread num << TEXT_SHIFT | sequence), so that a search
folds case the Unicode way (``"SS"`` finds ``"Großstraße"``) without storing the text twice.
``unindexed`` lists the threads whose texts are stored but not in the trigram index yet (a bulk
fill adds them later, in large transactions): searches scan those texts instead."""


def fold(text: str) -> str:
    """The case-folded form texts are indexed and searched in."""
    return text.casefold()


def _fold(value: str | None) -> str | None:
    return value.casefold() if isinstance(value, str) else value


def _contains(haystack: object, needle: object) -> int:
    """``ts_contains(haystack, needle)``: a case-folded substring test (Unicode folding, so
    ``"SS"`` is found in ``"Großstraße"``)."""
    if not isinstance(haystack, str) or not isinstance(needle, str):
        return 0
    return 1 if needle.casefold() in haystack.casefold() else 0


def delete_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def _upgrade(conn: sqlite3.Connection, found: int) -> int:
    """Run the forward steps from ``found`` on (each in a transaction of its own); returns the
    version reached."""
    while found < SCHEMA_VERSION and found in UPGRADES:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current == found:  # (another process may have upgraded it meanwhile)
                for statement in UPGRADES[found].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version={found + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        found = conn.execute("PRAGMA user_version").fetchone()[0]
    return int(found)


def connect(path: Path, script: str = SCHEMA, version: int = SCHEMA_VERSION) -> sqlite3.Connection:
    """Open the index at ``path``, creating it (or recreating a corrupt or foreign one).

    ``script`` and ``version`` name another cache database's schema (the page index)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rebuilt = False
    deadline = time.monotonic() + _OPEN_TIMEOUT
    while True:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
            conn.execute("PRAGMA busy_timeout=10000")
            # Rows carry a few KB of cached thread: larger pages than the default 4 KB keep them
            # off overflow pages (takes effect only when the file is created).
            conn.execute("PRAGMA page_size=8192")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION and found != 0:
                found = _upgrade(conn, found)
            if found not in (0, version) and not rebuilt:
                conn.close()
                delete_database(path)
                rebuilt = True
                continue
            conn.create_function("ts_contains", 2, _contains, deterministic=True)
            conn.create_function("ts_fold", 1, _fold, deterministic=True)
            if found != version:  # a new database: set its schema up (an existing one has it)
                conn.executescript(script)
                conn.execute(f"PRAGMA user_version={version}")
            return conn
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            if _code(exc) in (_SQLITE_BUSY, _SQLITE_LOCKED) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            if is_corruption(exc) and not rebuilt:
                delete_database(path)
                rebuilt = True
                continue
            raise Internal(f"cannot open index {path}: {exc}") from None
