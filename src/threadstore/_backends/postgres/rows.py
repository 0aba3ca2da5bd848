"""How a thread's row is composed: the :class:`StoredThread` it describes and its listing columns.

A row's truth is its ``summary`` (the :class:`ThreadSummary` fold of its items), its
``overrides`` patch and its archive time. The listing columns and the cached ``thread_json``
are derived from those three by :func:`compose` and :func:`listing_values`, in Python, so every
backend reports the same facts for the same history.

PostgreSQL ``text`` cannot hold NUL characters; the columns that are only compared (cwd,
provider, source kind, casefolded texts) store them as U+FFFD, and query values are mapped the
same way (:func:`pg_text`). Values that are returned (items, thread JSON, snippet texts) are
stored as exact bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from psycopg.types.json import Jsonb

from threadstore import _json
from threadstore._backends.shared.query import normalize_cwd
from threadstore._contract.patch import ThreadMetadataPatch, apply_patch
from threadstore._contract.serialize import thread_from_fold, thread_from_json, thread_to_json
from threadstore._contract.types import SessionSource, StoredThread, source_kind
from threadstore._rollout.summary import ThreadSummary
from threadstore._time import to_ms

__all__ = [
    "LISTING_COLUMNS",
    "ThreadMeta",
    "compose",
    "fold",
    "listing_values",
    "pg_text",
    "source_json",
    "thread_of",
]

#: The columns a writer or a metadata change recomputes, in :func:`listing_values` order.
LISTING_COLUMNS: Final = (
    "visible",
    "created_ms",
    "updated_ms",
    "source_kind",
    "source_json",
    "model_provider",
    "cwd",
    "name_folded",
    "preview_folded",
    "first_folded",
    "thread_json",
    "labels",
    "fold_version",
)


@dataclass(slots=True)
class ThreadMeta:
    """What is kept beside the summary: the overrides, the archive time, the row's creation
    time (the fallback for a history without timestamps) and the version of these facts."""

    overrides: ThreadMetadataPatch
    archived_at: datetime | None
    created: datetime
    version: int

    @classmethod
    def from_row(cls, overrides: bytes, archived_at: datetime | None, created: datetime, version: int) -> ThreadMeta:
        return cls(ThreadMetadataPatch.from_json(_json.loads(overrides)), archived_at, created, int(version))


def pg_text(value: str) -> str:
    """``value`` as a PostgreSQL ``text`` value (NUL, which text cannot hold, as U+FFFD)."""
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def fold(value: str) -> str:
    """The casefolded form that search compares (Python ``str.casefold`` semantics)."""
    return pg_text(value.casefold())


def source_json(source: SessionSource) -> Jsonb:
    return Jsonb(source)


def compose(thread_id: str, summary: ThreadSummary, meta: ThreadMeta) -> StoredThread:
    """The thread a row describes (without history)."""
    thread = thread_from_fold(summary, thread_id=thread_id, fallback_time=meta.created, archived_at=meta.archived_at)
    return apply_patch(thread, meta.overrides)


def derived(thread_id: str, summary: ThreadSummary, meta: ThreadMeta) -> StoredThread:
    """The thread as its items alone describe it (no overrides)."""
    return thread_from_fold(summary, thread_id=thread_id, fallback_time=meta.created, archived_at=meta.archived_at)


def listing_values(thread: StoredThread, summary: ThreadSummary) -> tuple[Any, ...]:
    """The values of :data:`LISTING_COLUMNS` for ``thread``."""
    return (
        summary.meta_seen and summary.has_user_message,
        to_ms(thread.created_at),
        to_ms(thread.updated_at),
        pg_text(source_kind(thread.source)),
        source_json(thread.source),
        pg_text(thread.model_provider),
        pg_text(normalize_cwd(thread.cwd)),
        fold(thread.name or ""),
        fold(thread.preview),
        fold(thread.first_user_message or ""),
        _json.dumps(thread_to_json(thread)),
        Jsonb(dict(thread.labels)),
        summary.fold_version,
    )


def thread_of(thread_json: bytes) -> StoredThread:
    """The thread cached in a row's ``thread_json``."""
    return thread_from_json(_json.loads(thread_json))
