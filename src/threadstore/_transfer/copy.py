"""Exact copies of threads into a store (the engine of ``threadstore copy`` and ``import``).

Contract for one thread (:func:`write_record`):

* the copy has the same id and the same lines in the same order, each with the same JSON (keys
  in the same order, values, times, ordinals, kinds and fields we do not know): the lines are
  appended as an exact append (:attr:`AppendThreadItemsParams.exact`), the first one being the
  thread's own ``session_meta``, which the target keeps as its first line;
* the copy has the same creation time, last update time, name, memory mode, git facts and
  archived state: what the lines do not carry is set afterwards, and only where the copy
  differs (a copy of a copy writes exactly the same);
* the copy is checked: its lines are read back and compared with the original's; a difference
  (a target that cannot keep a line as it was) is reported in the outcome's ``notes``, never
  silently;
* a thread that already exists in the target is skipped, never overwritten; a thread whose copy
  fails half way is discarded and deleted from the target, so a later run can retry it.

Threads are copied oldest first, so the parent of a fork by reference is in the target before
the fork that stands on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from threadstore._contract.base import ThreadStore
from threadstore._contract.listing import ListThreadsParams
from threadstore._contract.patch import USER_FIELDS, ThreadMetadataPatch, UpdateThreadMetadataParams
from threadstore._contract.serialize import labels_of
from threadstore._contract.types import (
    AppendThreadItemsParams,
    CreateThreadParams,
    GitInfo,
    LoadThreadHistoryParams,
    ReadThreadParams,
    SessionSource,
    StoredThread,
)
from threadstore._rollout.items import Item, instructions_text
from threadstore._transfer.record import ThreadRecord, read_record
from threadstore.errors import ThreadNotFound, ThreadStoreError

__all__ = [
    "CopyOutcome",
    "CopyReport",
    "copy_thread",
    "copy_threads",
    "create_params",
    "source_thread_ids",
    "write_record",
]

BATCH_LINES: Final = 256
"""Lines per ``append_items`` call (keeps remote requests well under their size limit)."""

_PAGE: Final = 500

Status = Literal["copied", "skipped", "failed"]


@dataclass(frozen=True)
class CopyOutcome:
    """What happened to one thread. ``reason`` says why it was skipped or failed; ``notes`` what
    of a copied thread is not exactly as it was."""

    thread_id: str
    status: Status
    reason: str | None = None
    lines: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "status": self.status,
            "reason": self.reason,
            "lines": self.lines,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class CopyReport:
    """The outcomes of a copy, in the order the threads were copied."""

    outcomes: list[CopyOutcome]

    def with_status(self, status: Status) -> list[CopyOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def ok(self) -> bool:
        """True when no thread failed."""
        return not self.with_status("failed")

    def to_json(self) -> dict[str, Any]:
        """``{"copied": n, "skipped": n, "failed": n, "threads": [outcome, ...]}``."""
        counts: dict[str, Any] = {s: len(self.with_status(s)) for s in ("copied", "skipped", "failed")}
        return {**counts, "threads": [o.to_json() for o in self.outcomes]}


async def source_thread_ids(source: ThreadStore, *, include_archived: bool = True) -> list[str]:
    """Every thread of ``source`` (active, then archived ones too when asked), oldest first, so
    that the copies are created in the same order as the originals."""
    found: list[StoredThread] = []
    for archived in (False, True) if include_archived else (False,):
        cursor: str | None = None
        while True:
            page = await source.list_threads(
                ListThreadsParams(page_size=_PAGE, cursor=cursor, sort_direction="asc", archived=archived)
            )
            found.extend(page.items)
            cursor = page.next_cursor
            if not cursor or not page.items:
                break
    found.sort(key=lambda t: (t.created_at, t.thread_id))
    return list(dict.fromkeys(t.thread_id for t in found))


async def copy_threads(
    source: ThreadStore,
    target: ThreadStore,
    *,
    thread_ids: Sequence[str] | None = None,
    include_archived: bool = True,
    on_total: Callable[[int], None] | None = None,
    on_outcome: Callable[[CopyOutcome], None] | None = None,
) -> CopyReport:
    """Copy ``thread_ids`` (default: every thread of ``source``) into ``target``, one after the
    other. ``on_total`` hears the number of threads once, ``on_outcome`` each outcome as it is
    known. Failures of single threads are reported, not raised; a failure to list the source
    raises."""
    if thread_ids is None:
        ids = await source_thread_ids(source, include_archived=include_archived)
    else:
        ids = list(dict.fromkeys(thread_ids))
    if on_total is not None:
        on_total(len(ids))
    outcomes: list[CopyOutcome] = []
    for thread_id in ids:
        outcome = await copy_thread(source, target, thread_id, include_archived=include_archived)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return CopyReport(outcomes)


async def copy_thread(
    source: ThreadStore, target: ThreadStore, thread_id: str, *, include_archived: bool = True
) -> CopyOutcome:
    """Copy one thread (see the module documentation); never raises a store error."""
    try:
        thread = await source.read_thread(ReadThreadParams(thread_id, include_archived=True))
        if thread.archived and not include_archived:
            return CopyOutcome(thread_id, "skipped", "archived (--no-archived)")
        if await _exists(target, thread_id):
            return CopyOutcome(thread_id, "skipped", "already exists in the target")
        record = await read_record(source, thread_id)
    except ThreadStoreError as exc:
        return CopyOutcome(thread_id, "failed", str(exc))
    return await _write_new(target, record)


async def _exists(store: ThreadStore, thread_id: str) -> bool:
    try:
        await store.read_thread(ReadThreadParams(thread_id, include_archived=True))
    except ThreadNotFound:
        return False
    return True


def _str(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) else None


def _first_meta(lines: Sequence[Item], thread_id: str) -> Mapping[str, Any] | None:
    """The payload of the thread's own first ``session_meta``, if the lines start with it."""
    if lines and lines[0].get("type") == "session_meta":
        payload = lines[0].get("payload")
        if isinstance(payload, Mapping) and payload.get("id") == thread_id:
            return payload
    return None


def create_params(thread: StoredThread, meta: Mapping[str, Any]) -> CreateThreadParams:
    """Create parameters matching the thread's first ``session_meta`` (``meta``), falling back to
    its metadata for fields ``meta`` lacks. The target builds its own first line from them only
    when the lines do not start with the thread's ``session_meta``."""
    kind = meta.get("source")
    source: SessionSource = kind if isinstance(kind, str | dict) and kind else thread.source
    tools = meta.get("dynamic_tools")
    originator = _str(meta, "originator")
    params = CreateThreadParams(
        thread_id=thread.thread_id,
        cwd=_str(meta, "cwd") or thread.cwd,
        model_provider=_str(meta, "model_provider") or thread.model_provider,
        source=source,
        forked_from_id=_str(meta, "forked_from_id") or thread.forked_from_id,
        parent_thread_id=_str(meta, "parent_thread_id") or thread.parent_thread_id,
        base_instructions=instructions_text(meta.get("base_instructions")),
        dynamic_tools=[t for t in tools if isinstance(t, Mapping)] if isinstance(tools, list) else (),
        event_persistence_mode="extended",
        memory_mode="disabled" if meta.get("memory_mode") == "disabled" else thread.memory_mode,
        git_info=GitInfo.from_json(meta.get("git")),
        cli_version=_str(meta, "cli_version") or thread.cli_version,
        created_at=thread.created_at,
        labels=labels_of(meta.get("labels")),
    )
    return params if originator is None else dataclasses.replace(params, originator=originator)


def _metadata_patch(source: StoredThread, copied: StoredThread) -> ThreadMetadataPatch:
    """The patch that gives the copy the source's user-set facts (name, memory mode, git facts:
    the fields the table marks ``user``) and last update time (only the fields that differ)."""
    explicit = ThreadMetadataPatch()
    for spec in USER_FIELDS:
        value, now = getattr(source, spec.name), getattr(copied, spec.name)
        if value != now:
            explicit = explicit.merge(ThreadMetadataPatch.setting(spec, value, replacing=now))
    # An explicit change moves a thread's update time to now unless the patch gives one.
    if explicit.is_empty() and source.updated_at <= copied.updated_at:
        return explicit
    return explicit.merge(ThreadMetadataPatch(updated_at=source.updated_at))


def _differences(original: Sequence[Item], copied: Sequence[Item]) -> list[str]:
    if len(original) != len(copied):
        return [f"the copy has {len(copied)} lines, the original {len(original)}"]
    for index, (a, b) in enumerate(zip(original, copied, strict=True)):
        if a != b or list(a) != list(b):
            return [f"line {index + 1} ({a.get('type')}) differs in the copy"]
    return []


def _metadata_notes(source: StoredThread, copied: StoredThread) -> list[str]:
    notes = []
    # (The time of archiving is not kept: a store records when it archived the copy.)
    for name in ("created_at", "updated_at", "archived", *(spec.name for spec in USER_FIELDS)):
        if getattr(source, name) != getattr(copied, name):
            notes.append(f"{name} differs in the copy")
    return notes


async def write_record(target: ThreadStore, record: ThreadRecord) -> CopyOutcome:
    """Write one thread into ``target`` (see the module documentation); never raises a store
    error."""
    try:
        if await _exists(target, record.thread_id):
            return CopyOutcome(record.thread_id, "skipped", "already exists in the target", len(record.lines))
    except ThreadStoreError as exc:
        return CopyOutcome(record.thread_id, "failed", f"create: {exc}", len(record.lines))
    return await _write_new(target, record)


async def _write_new(target: ThreadStore, record: ThreadRecord) -> CopyOutcome:
    """Write a thread the target does not have yet (see :func:`write_record`)."""
    thread_id, lines = record.thread_id, record.lines

    def outcome(status: Status, reason: str | None = None, notes: Sequence[str] = ()) -> CopyOutcome:
        return CopyOutcome(thread_id, status, reason, len(lines), list(notes))

    try:
        meta = _first_meta(lines, thread_id)
        await target.create_thread(create_params(record.thread, meta or {}))
    except ThreadStoreError as exc:
        return outcome("failed", f"create: {exc}")
    try:
        for start in range(0, len(lines), BATCH_LINES):
            batch = lines[start : start + BATCH_LINES]
            await target.append_items(AppendThreadItemsParams(thread_id, batch, exact=True))
        await target.persist_thread(thread_id)
        await target.flush_thread(thread_id)
        await target.shutdown_thread(thread_id)
    except ThreadStoreError as exc:
        return outcome("failed", f"append: {exc}{await _remove(target, thread_id)}")
    try:
        stored = await target.load_history(
            LoadThreadHistoryParams(thread_id, include_archived=True, resolve_forks=False)
        )
        notes = _differences(lines, stored.lines())
        if meta is None:
            notes.insert(0, "the original does not start with its session_meta: the target wrote one")
        copied = await target.read_thread(ReadThreadParams(thread_id, include_archived=True))
        patch = _metadata_patch(record.thread, copied)
        if not patch.is_empty():
            copied = await target.update_thread_metadata(
                UpdateThreadMetadataParams(thread_id, patch, include_archived=True)
            )
        if record.thread.archived and not copied.archived:
            await target.archive_thread(thread_id)
            copied = await target.read_thread(ReadThreadParams(thread_id, include_archived=True))
    except ThreadStoreError as exc:
        return outcome("failed", f"metadata: {exc} (the lines were copied)")
    return outcome("copied", notes=[*notes, *_metadata_notes(record.thread, copied)])


async def _remove(target: ThreadStore, thread_id: str) -> str:
    """Discard and delete a partial copy; returns a note for the failure reason."""
    try:
        await target.discard_thread(thread_id)
        await target.delete_thread(thread_id)
    except ThreadNotFound:
        return ""
    except ThreadStoreError as exc:
        return f" (the partial copy could not be removed: {exc})"
    return ""
