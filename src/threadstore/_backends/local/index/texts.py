"""Message texts in the index: ``bodies`` (each text as written, for snippets), ``texts`` (a
trigram index of their case-folded form) and ``unindexed`` (threads whose texts are stored but
not in the trigram index yet: a bulk fill adds them later, in large transactions, and searches
scan them meanwhile). A text's id is its thread's ``num << TEXT_SHIFT | sequence``.

Functions of a connection, called inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from threadstore._backends.local.index.schema import MAX_TEXT_CHARS, TEXT_SHIFT, fold

__all__ = [
    "add_texts",
    "bulk_texts",
    "delete_texts",
    "first_text",
    "has_pending_texts",
    "index_pending_texts",
    "matches_at_least",
    "store_texts",
    "trigram_query",
]


def store_texts(conn: sqlite3.Connection, texts: Sequence[tuple[int, Sequence[str]]], *, defer: bool) -> None:
    """Store the texts of new threads (``(num, texts)``, texts numbered from 0): in the trigram
    index too, or, with ``defer``, listed as waiting for it."""
    bodies = [((num << TEXT_SHIFT) | k, text[:MAX_TEXT_CHARS]) for num, some in texts for k, text in enumerate(some)]
    conn.executemany("INSERT INTO bodies (id, body) VALUES (?, ?)", bodies)
    if defer:
        conn.executemany("INSERT INTO unindexed (num) VALUES (?)", [(num,) for num, some in texts if some])
    else:
        conn.executemany("INSERT INTO texts (rowid, folded) VALUES (?, ?)", [(i, fold(b)) for i, b in bodies])


def add_texts(conn: sqlite3.Connection, num: int, start: int, texts: Iterable[str]) -> int:
    """Store texts of thread ``num`` from sequence ``start`` on (in the trigram index too, unless
    the thread's earlier texts still wait for it: they all go in together); how many."""
    pending: bool | None = None
    added = 0
    for text in texts:
        if pending is None:
            pending = conn.execute("SELECT 1 FROM unindexed WHERE num = ?", (num,)).fetchone() is not None
        body = text[:MAX_TEXT_CHARS]
        text_id = (num << TEXT_SHIFT) | (start + added)
        conn.execute("INSERT INTO bodies (id, body) VALUES (?, ?)", (text_id, body))
        if not pending:
            conn.execute("INSERT INTO texts (rowid, folded) VALUES (?, ?)", (text_id, fold(body)))
        added += 1
    return added


def delete_texts(conn: sqlite3.Connection, num: int) -> None:
    """Forget every text of thread ``num``."""
    span = (num << TEXT_SHIFT, (num + 1) << TEXT_SHIFT)
    if not conn.execute("DELETE FROM unindexed WHERE num = ?", (num,)).rowcount:
        # An external-content index forgets a text when told the values it indexed.
        conn.execute(
            "INSERT INTO texts (texts, rowid, folded) SELECT 'delete', id, ts_fold(body) FROM bodies "
            "WHERE id >= ? AND id < ?",
            span,
        )
    conn.execute("DELETE FROM bodies WHERE id >= ? AND id < ?", span)


def has_pending_texts(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM unindexed LIMIT 1").fetchone() is not None


def index_pending_texts(conn: sqlite3.Connection, threads: int) -> bool:
    """Move the texts of up to ``threads`` waiting threads into the trigram index; False once
    none is left."""
    row = conn.execute(
        "SELECT max(num), count(*) FROM (SELECT num FROM unindexed ORDER BY num LIMIT ?)", (threads,)
    ).fetchone()
    if not row[1]:
        return False
    texts = conn.execute(
        f"SELECT b.id, b.body FROM unindexed u JOIN bodies b ON b.id >= u.num << {TEXT_SHIFT} "
        f"AND b.id < (u.num + 1) << {TEXT_SHIFT} WHERE u.num <= ?",
        (row[0],),
    ).fetchall()
    conn.executemany("INSERT INTO texts (rowid, folded) VALUES (?, ?)", [(i, fold(b)) for i, b in texts])
    conn.execute("DELETE FROM unindexed WHERE num <= ?", (row[0],))
    return bool(row[1] == threads)


def bulk_texts(conn: sqlite3.Connection, on: bool, merge: bool = True) -> None:
    """Trigram index settings for adding many texts: with ``on``, its segments are not merged as
    they are written (merging after every small transaction costs more than the writing); turned
    off, the usual merging is back and the index is merged into one segment (unless not
    ``merge``). A setting of the database, shared by its connections: a process that dies in
    between leaves merging off (searches stay right, only slower) until the next bulk ends."""
    if on:
        conn.execute("INSERT INTO texts (texts, rank) VALUES ('automerge', 0)")
        conn.execute("INSERT INTO texts (texts, rank) VALUES ('crisismerge', 64)")
        return
    conn.execute("INSERT INTO texts (texts, rank) VALUES ('automerge', 4)")
    conn.execute("INSERT INTO texts (texts, rank) VALUES ('crisismerge', 16)")
    if merge:
        conn.execute("INSERT INTO texts (texts) VALUES ('optimize')")


def matches_at_least(conn: sqlite3.Connection, fts_query: str, count: int) -> bool:
    """Whether at least ``count`` texts in the trigram index match ``fts_query`` (stops counting
    there)."""
    row = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM texts WHERE texts MATCH ? LIMIT ?)", (fts_query, count)
    ).fetchone()
    return bool(row[0] >= count)


def first_text(conn: sqlite3.Connection, num: int, term: str) -> str | None:
    """The first stored text of thread ``num`` that contains ``term`` (case-insensitive).

    A rowid-range scan of that thread's texts: cheap, unlike a MATCH restricted to the range,
    which would evaluate the term's whole posting list once per thread."""
    lo, hi = num << TEXT_SHIFT, (num + 1) << TEXT_SHIFT
    row = conn.execute(
        "SELECT body FROM bodies WHERE id >= ? AND id < ? AND ts_contains(body, ?) ORDER BY id LIMIT 1",
        (lo, hi, term),
    ).fetchone()
    return row[0] if row else None


def trigram_query(term: str) -> str | None:
    """An FTS5 query matching texts whose folded form holds every trigram of the folded
    ``term`` (None when that is shorter than three characters, or holds a NUL: such terms are
    looked for by scanning the texts). The index keeps no positions (``detail=none``, a third of
    the size), so callers confirm each candidate with a substring test."""
    term = fold(term)
    if len(term) < 3 or "\x00" in term:  # no trigram, or none the full-text syntax can carry
        return None
    grams = dict.fromkeys(term[i : i + 3] for i in range(len(term) - 2))
    return " AND ".join('"' + gram.replace('"', '""') + '"' for gram in grams)
