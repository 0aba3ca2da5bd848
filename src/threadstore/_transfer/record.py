"""A thread as it moves between stores and files: its lines exactly as stored, plus the metadata
those lines do not carry.

A :class:`ThreadRecord` is what ``threadstore copy`` carries from one store to another and what
``threadstore export`` / ``import`` write and read. Its three file forms:

* a rollout (``.jsonl``, or ``.jsonl.zst`` compressed): the lines, byte for byte as Codex writes
  them. It holds what the lines say and nothing else (no name kept outside them, no archived
  state), exactly like a file of a Codex home;
* a Codex home (a directory: ``sessions/``, ``archived_sessions/``, ``session_index.jsonl``):
  rollouts plus names and archived state, where Codex keeps them;
* a thread JSON (``.json``): ``{"format": "threadstore.thread/1", "thread": {...metadata},
  "lines": [...]}``, everything in one file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from threadstore import _json
from threadstore._compressed import read_file
from threadstore._contract.base import ThreadStore
from threadstore._contract.serialize import thread_from_fold, thread_from_json, thread_to_json
from threadstore._contract.types import LoadThreadHistoryParams, ReadThreadParams, StoredThread, StoredThreadHistory
from threadstore._rollout.items import Item, validate_items
from threadstore._rollout.jsonl import parse_chunk
from threadstore._rollout.summary import ThreadSummary
from threadstore._time import utc_now
from threadstore.errors import InvalidRequest

__all__ = [
    "RECORD_FORMAT",
    "ThreadRecord",
    "is_listed",
    "read_record",
    "record_from_bytes",
    "record_from_file",
    "record_from_json",
    "record_from_rollout",
    "record_to_json",
    "rollout_bytes",
]

RECORD_FORMAT: Final = "threadstore.thread/1"


@dataclass(frozen=True, slots=True)
class ThreadRecord:
    """One thread: ``lines`` are its stored lines in order, each with its ``timestamp`` as its
    first field (a fork by reference as stored, not resolved); ``thread`` its metadata (no
    history)."""

    thread: StoredThread
    lines: list[Item]

    @property
    def thread_id(self) -> str:
        return self.thread.thread_id


async def read_record(store: ThreadStore, thread_id: str) -> ThreadRecord:
    """The record of one thread of ``store`` (archived or not)."""
    thread = await store.read_thread(ReadThreadParams(thread_id, include_archived=True))
    history = await store.load_history(LoadThreadHistoryParams(thread_id, include_archived=True, resolve_forks=False))
    return ThreadRecord(thread, history.lines())


def is_listed(record: ThreadRecord) -> bool:
    """Whether listings would show the thread: its lines hold its metadata and a user message
    (as in Codex, a thread without one is not listed, nor found by an id prefix)."""
    summary = ThreadSummary(record.thread_id)
    for line in record.lines:
        stamp = line.get("timestamp")
        summary.add(line, stamp if isinstance(stamp, str) else None)
    return summary.meta_seen and summary.has_user_message


def rollout_bytes(record: ThreadRecord) -> bytes:
    """The record's lines as a rollout file (compact JSON, one line each, ``\\n``-terminated)."""
    return b"".join(_json.dumps(line) + b"\n" for line in record.lines)


def record_to_json(record: ThreadRecord) -> dict[str, Any]:
    """The thread JSON form (see the module documentation)."""
    return {"format": RECORD_FORMAT, "thread": thread_to_json(record.thread), "lines": record.lines}


def record_from_json(data: object) -> ThreadRecord:
    """A record from its thread JSON form; ``InvalidRequest`` when it is not one."""
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        raise InvalidRequest(f"not a thread export (expected an object with format {RECORD_FORMAT!r})")
    thread, lines = data.get("thread"), data.get("lines")
    if not isinstance(thread, dict) or not isinstance(lines, list):
        raise InvalidRequest("a thread export needs a 'thread' object and a 'lines' list")
    try:
        stored = thread_from_json(thread)
    except (KeyError, TypeError) as exc:
        raise InvalidRequest(f"the thread of the export is incomplete: {exc}") from None
    return ThreadRecord(stored, validate_items(lines))


def record_from_rollout(items: list[Item], stamps: list[str | None], *, origin: str) -> ThreadRecord:
    """A record of the lines of one rollout; its metadata is what the lines say (the thread id
    from its first ``session_meta``)."""
    first = items[0] if items else None
    payload = first.get("payload") if first is not None and first.get("type") == "session_meta" else None
    thread_id = payload.get("id") if isinstance(payload, dict) else None
    if not isinstance(thread_id, str):
        raise InvalidRequest(f"{origin} is not a rollout: its first line is not a session_meta with an id")
    summary = ThreadSummary(thread_id)
    summary.add_all(items, stamps)
    now: datetime = utc_now()
    thread = thread_from_fold(summary, thread_id=thread_id, fallback_time=now)
    return ThreadRecord(thread, StoredThreadHistory(thread_id, items, stamps).lines())


def record_from_file(path: Path) -> ThreadRecord:
    """The record of a rollout file (``.jsonl``, ``.jsonl.zst``) or a thread JSON (``.json``)."""
    if path.suffix == ".json":
        try:
            data = _json.loads(path.read_bytes())
        except OSError as exc:
            raise InvalidRequest(f"cannot read {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise InvalidRequest(f"{path} is not JSON: {exc}") from None
        return record_from_json(data)
    chunk = parse_chunk(read_file(path))
    if chunk.skipped:
        raise InvalidRequest(f"{path} has {chunk.skipped} line(s) that are not rollout lines; nothing was imported")
    return record_from_rollout(chunk.items, chunk.timestamps, origin=str(path))


def record_from_bytes(data: bytes, *, origin: str) -> ThreadRecord:
    """The record of rollout bytes (e.g. read from standard input)."""
    chunk = parse_chunk(data)
    if chunk.skipped:
        raise InvalidRequest(f"{origin} has {chunk.skipped} line(s) that are not rollout lines; nothing was imported")
    return record_from_rollout(chunk.items, chunk.timestamps, origin=origin)
