"""The way back: a thread of a store placed into a Codex home, where Codex resumes it.

:func:`checkout_thread` writes the thread's rollout (its lines byte for byte, as ``export``
writes them) where Codex looks for it: ``sessions/YYYY/MM/DD/rollout-<local creation
time>-<id>.jsonl``, or ``archived_sessions/`` for an archived thread, and its name into
``session_index.jsonl``. A fork by reference (newer Codex builds) stands on its parent's file
(it even names a byte offset in it), so its parents are checked out first, the same way.

A rollout of the thread already in the home is compared with the store's lines, never
overwritten silently:

* the same bytes: nothing to do (``present``);
* a beginning of the store's: the missing lines are appended (``extended``);
* the store's lines are a beginning of it: the home has gone further (``ahead``; a mirror of
  that home carries its lines to the store); nothing is written;
* anything else: ``Conflict``, unless ``force`` (then the home's file is replaced).

Files are written whole to a temporary name, synced and renamed into place, so Codex never
sees half a rollout; appended lines are synced before returning. A mirror of that home then
finds the rollout equal to the target's thread and carries Codex's new lines on as appends to
the same thread.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from threadstore._compressed import is_compressed, read_file
from threadstore._contract.base import ThreadStore
from threadstore._rollout.files import ARCHIVED_DIR, SESSION_INDEX, SESSIONS_DIR, rollout_file_name, thread_id_from_name
from threadstore._rollout.forks import MAX_FORK_DEPTH, fork_reference
from threadstore._rollout.session_index import complete_part, name_entry, parse_names
from threadstore._time import format_rfc3339, utc_now
from threadstore._transfer.record import ThreadRecord, read_record, rollout_bytes
from threadstore.errors import Conflict, InvalidRequest, ThreadNotFound

__all__ = ["CheckoutOutcome", "checkout_thread"]

Status = Literal["written", "extended", "present", "ahead", "replaced"]


@dataclass(frozen=True, slots=True)
class CheckoutOutcome:
    """What happened to one thread (the one asked for, or a fork parent of it)."""

    thread_id: str
    path: Path
    status: Status
    lines: int

    def to_json(self) -> dict[str, object]:
        return {"thread_id": self.thread_id, "path": str(self.path), "status": self.status, "lines": self.lines}


async def checkout_thread(
    store: ThreadStore, thread_id: str, home: Path, *, force: bool = False
) -> list[CheckoutOutcome]:
    """Place the thread (and the parents a fork by reference stands on, first) into the Codex
    home ``home`` (see the module documentation); the outcomes, parents first."""
    chain: list[ThreadRecord] = []
    wanted: str | None = thread_id
    while wanted is not None and len(chain) <= MAX_FORK_DEPTH:
        if any(r.thread_id == wanted for r in chain):
            break
        try:
            record = await read_record(store, wanted)
        except ThreadNotFound:
            if not chain:
                raise
            raise InvalidRequest(
                f"thread {chain[-1].thread_id} is a fork of {wanted}, which is not in the store"
            ) from None
        chain.append(record)
        reference = fork_reference(record.lines)
        wanted = reference[0] if reference is not None else None
    return [_place(record, home, force=force) for record in reversed(chain)]


def _existing(home: Path, thread_id: str) -> Path | None:
    """A rollout of the thread already in the home (active first, plain before compressed)."""
    found: list[Path] = []
    sessions = home / SESSIONS_DIR
    if sessions.is_dir():
        found.extend(p for p in sessions.glob(f"*/*/*/rollout-*-{thread_id}.jsonl*") if thread_id_from_name(p.name))
    archived = home / ARCHIVED_DIR
    if archived.is_dir():
        found.extend(p for p in archived.glob(f"rollout-*-{thread_id}.jsonl*") if thread_id_from_name(p.name))
    found.sort(key=lambda p: (p.parent == archived, is_compressed(p)))
    return found[0] if found else None


def _place(record: ThreadRecord, home: Path, *, force: bool) -> CheckoutOutcome:
    thread = record.thread
    data = rollout_bytes(record)
    lines = len(record.lines)
    existing = _existing(home, thread.thread_id)
    if existing is not None:
        current = read_file(existing)
        if current == data:
            outcome = CheckoutOutcome(thread.thread_id, existing, "present", lines)
        elif current.startswith(data):
            outcome = CheckoutOutcome(thread.thread_id, existing, "ahead", lines)
        elif data.startswith(current) and current.endswith(b"\n") and not is_compressed(existing):
            _append(existing, data[len(current) :])
            outcome = CheckoutOutcome(thread.thread_id, existing, "extended", lines)
        elif force:
            plain = existing.with_name(existing.name.removesuffix(".zst"))
            _write_whole(plain, data)
            if plain != existing:
                existing.unlink()
            outcome = CheckoutOutcome(thread.thread_id, plain, "replaced", lines)
        else:
            raise Conflict(
                f"{existing} differs from the store's thread {thread.thread_id} (it is not a beginning of it, "
                "nor the other way round); --force replaces it"
            )
    else:
        local = thread.created_at.astimezone()
        name = rollout_file_name(local, thread.thread_id)
        if thread.archived:
            path = home / ARCHIVED_DIR / name
        else:
            path = home / SESSIONS_DIR / local.strftime("%Y") / local.strftime("%m") / local.strftime("%d") / name
        _write_whole(path, data)
        outcome = CheckoutOutcome(thread.thread_id, path, "written", lines)
    if thread.name:
        _name(home, thread.thread_id, thread.name)
    return outcome


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_whole(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.checkout")
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
    _sync_dir(path.parent)


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _name(home: Path, thread_id: str, name: str) -> None:
    """Name the thread in ``session_index.jsonl`` unless that is already its latest name."""
    index = home / SESSION_INDEX
    try:
        current = parse_names(complete_part(index.read_bytes())).get(thread_id)
    except FileNotFoundError:
        current = None
    if current == name:
        return
    stamp = format_rfc3339(utc_now())
    with open(index, "ab") as f:
        if f.tell() and not index.read_bytes().endswith(b"\n"):
            f.write(b"\n")
        f.write(name_entry(thread_id, name, stamp))
        f.flush()
        os.fsync(f.fileno())
