"""The rows the index returns, by name, and the filters of a page query."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from threadstore import _json
from threadstore._backends.local.index.schema import TEXT_SHIFT
from threadstore._backends.shared.query import Cursor, normalize_cwd
from threadstore._contract.serialize import thread_from_json, thread_to_json
from threadstore._contract.types import StoredThread, source_kind
from threadstore._rollout.summary import ThreadSummary
from threadstore._time import to_ms

__all__ = ["THREAD_COLUMNS", "FileState", "IndexRow", "NewRow", "PageFilter", "PageQuery", "PageRow", "row_values"]

#: The columns of a thread's row that describe it (``num``, ``thread_id`` and ``text_count``
#: aside), in the order of :func:`row_values`.
THREAD_COLUMNS: tuple[str, ...] = (
    "path",
    "archived",
    "visible",
    "created_ms",
    "updated_ms",
    "source_kind",
    "source_json",
    "model_provider",
    "cwd",
    "preview",
    "first_user_message",
    "name",
    "thread_json",
    "summary",
    "file_size",
    "mtime_ns",
    "ino",
    "labels",
    "fold_version",
)
_THREAD_JSON = THREAD_COLUMNS.index("thread_json")
_SUMMARY = THREAD_COLUMNS.index("summary")


def row_values(
    thread: StoredThread, summary: ThreadSummary, *, path: str, archived: bool, file_size: int, mtime_ns: int, ino: int
) -> tuple[Any, ...]:
    """The values of :data:`THREAD_COLUMNS` for a thread (a plain tuple: it crosses processes).
    A thread is visible in listings once its rollout has its metadata and a user message."""
    return (
        path,
        1 if archived else 0,
        1 if summary.meta_seen and summary.has_user_message else 0,
        to_ms(thread.created_at),
        to_ms(thread.updated_at),
        source_kind(thread.source),
        _json.dumps_str(thread.source),
        thread.model_provider,
        normalize_cwd(thread.cwd),
        thread.preview,
        thread.first_user_message or "",
        thread.name,
        _json.dumps(thread_to_json(thread)),
        _json.dumps(summary.to_state()),
        file_size,
        mtime_ns,
        ino,
        _json.dumps_str(dict(thread.labels)),
        summary.fold_version,
    )


class NewRow(NamedTuple):
    """A rollout ready to be added to the index: its columns (:func:`row_values`), the message
    texts to index, and how many unreadable lines its file had."""

    thread_id: str
    values: tuple[Any, ...]
    texts: list[str]
    skipped: int = 0

    @property
    def path(self) -> str:
        return str(self.values[0])

    @property
    def thread_json(self) -> bytes:
        return bytes(self.values[_THREAD_JSON])

    def summary(self) -> ThreadSummary:
        return ThreadSummary.from_state(_json.loads(self.values[_SUMMARY]))


class FileState(NamedTuple):
    """What the index last saw of a rollout file: if any of it changed, the file changed."""

    path: str
    size: int
    mtime_ns: int
    ino: int


class PageRow(NamedTuple):
    """One thread of a page query."""

    num: int
    thread_id: str
    path: str
    file_size: int
    mtime_ns: int
    ino: int
    thread_json: bytes
    sort_ms: int

    @property
    def file(self) -> FileState:
        return FileState(self.path, self.file_size, self.mtime_ns, self.ino)

    def thread(self) -> StoredThread:
        return thread_from_json(_json.loads(self.thread_json))


@dataclass(frozen=True, slots=True)
class PageFilter:
    """Which threads a page query returns (every given condition must hold).

    ``source_kinds`` / ``source_jsons``: the source's kind is one of the kinds, or the whole
    source (as JSON) is one of the objects. ``title_term``: the name, preview or first message
    contains it (case-folded). ``text_fts``: one of the thread's texts matches this full-text
    query — or, for texts not in the trigram index yet, contains ``pending_term``; ``text_term``:
    one of them contains this term (a scan, for terms too short to index).
    """

    source_kinds: tuple[str, ...] = ()
    source_jsons: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    providers: tuple[str, ...] = ()
    cwds: tuple[str, ...] = ()
    title_term: str | None = None
    text_fts: str | None = None
    pending_term: str | None = None
    text_term: str | None = None

    def sql(self) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if self.source_kinds or self.source_jsons:
            parts = []
            if self.source_kinds:
                parts.append(f"source_kind IN ({_marks(self.source_kinds)})")
                args.extend(self.source_kinds)
            if self.source_jsons:
                parts.append(f"source_json IN ({_marks(self.source_jsons)})")
                args.extend(self.source_jsons)
            clauses.append(f"({' OR '.join(parts)})")
        for key, value in self.labels:
            # (Label keys are letters, digits and ._-/: only, so a quoted JSON path holds any.)
            clauses.append("json_extract(labels, ?) = ?")
            args.extend([f'$."{key}"', value])
        if self.providers:
            clauses.append(f"model_provider IN ({_marks(self.providers)})")
            args.extend(self.providers)
        if self.cwds:
            clauses.append(f"cwd IN ({_marks(self.cwds)})")
            args.extend(self.cwds)
        if self.title_term:
            clauses.append("(ts_contains(name, ?) OR ts_contains(preview, ?) OR ts_contains(first_user_message, ?))")
            args.extend([self.title_term] * 3)
        if self.text_fts is not None:
            clause = f"num IN (SELECT rowid >> {TEXT_SHIFT} FROM texts WHERE texts MATCH ?)"
            args.append(self.text_fts)
            if self.pending_term is not None:
                clause = (
                    f"({clause} OR num IN (SELECT u.num FROM unindexed u JOIN bodies b "
                    f"ON b.id >= u.num << {TEXT_SHIFT} AND b.id < (u.num + 1) << {TEXT_SHIFT} "
                    "WHERE ts_contains(b.body, ?)))"
                )
                args.append(self.pending_term)
            clauses.append(clause)
        if self.text_term is not None:
            clauses.append(f"num IN (SELECT id >> {TEXT_SHIFT} FROM bodies WHERE ts_contains(body, ?))")
            args.append(self.text_term)
        return clauses, args


@dataclass(frozen=True, slots=True)
class PageQuery:
    """One page of one collection: the visible threads matching ``where``, ordered by
    ``sort_key`` (then id), strictly after the keyset position ``after``, at most ``limit``."""

    archived: bool
    sort_key: str
    descending: bool
    after: Cursor | None
    limit: int
    where: PageFilter = PageFilter()

    def sql(self) -> tuple[str, list[Any]]:
        column = "updated_ms" if self.sort_key == "updated_at" else "created_ms"
        clauses, args = self.where.sql()
        clauses[:0] = ["archived = ?", "visible = 1"]
        args.insert(0, 1 if self.archived else 0)
        if self.after is not None:
            op = "<" if self.descending else ">"
            if self.after.thread_id is None:
                clauses.append(f"{column} {op} ?")
                args.append(self.after.ts_ms)
            else:
                # A row value: SQLite seeks the index to the position instead of scanning to it.
                clauses.append(f"({column}, thread_id) {op} (?, ?)")
                args.extend([self.after.ts_ms, self.after.thread_id])
        order = "DESC" if self.descending else "ASC"
        sql = (
            f"SELECT num, thread_id, path, file_size, mtime_ns, ino, thread_json, {column} FROM threads "
            f"WHERE {' AND '.join(clauses)} ORDER BY {column} {order}, thread_id {order} LIMIT ?"
        )
        return sql, [*args, self.limit]

    def continued(self, after: Cursor) -> PageQuery:
        """The same query, from a later position."""
        return dataclasses.replace(self, after=after)


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


@dataclass(slots=True)
class IndexRow:
    """One indexed rollout."""

    num: int
    thread_id: str
    path: str
    archived: bool
    summary: ThreadSummary
    file_size: int
    mtime_ns: int
    ino: int
    text_count: int
    thread_json: bytes

    def thread(self) -> StoredThread:
        return thread_from_json(_json.loads(self.thread_json))

    @property
    def file(self) -> FileState:
        return FileState(self.path, self.file_size, self.mtime_ns, self.ino)


def _contains(haystack: object, needle: object) -> int:
    if not isinstance(haystack, str) or not isinstance(needle, str):
        return 0
    return 1 if needle.casefold() in haystack.casefold() else 0
