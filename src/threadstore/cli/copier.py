"""Copy threads from one store to another (the engine of ``threadstore copy``).

A copied thread keeps its id, its items in the same order, its name and its archived state:

* the target writes the thread's first ``session_meta`` itself, from create parameters taken from
  the source's first ``session_meta`` (cwd, provider, source, fork parent, originator, CLI
  version, base instructions, dynamic tools, memory mode, git facts), so that item is not
  appended; every other item is appended as it was read;
* the target writes with ``event_persistence_mode="extended"``, the widest policy. Items that
  policy would still drop (event types it does not know) or rewrite (bulky command output) are
  counted per kind in the outcome (``skipped_items`` / ``altered_items``), never lost silently;
* metadata the items do not carry (a name kept outside the history, memory mode or git facts
  set as overrides) is patched afterwards, and only when the copy differs, so that a copy of a
  copy has exactly the same history; the thread is archived last when the source was archived;
* first-``session_meta`` fields the target could not reproduce are listed in ``notes``.

A thread that already exists in the target is skipped, never overwritten. A thread whose copy
fails is discarded and deleted from the target, so a later run can retry it. The copy's creation
time is the time of the copy (the store contract has no way to set it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ..errors import ThreadNotFound, ThreadStoreError
from ..items import Item, instructions_text
from ..policy import persisted_items
from ..store.base import ThreadStore
from ..store.patch import UNSET, GitInfoPatch, ThreadMetadataPatch, Unset
from ..store.types import (
    AppendThreadItemsParams,
    CreateThreadParams,
    GitInfo,
    ListThreadsParams,
    ReadThreadParams,
    SessionSource,
    StoredThread,
    UpdateThreadMetadataParams,
)

__all__ = ["CopyOutcome", "CopyReport", "copy_thread", "copy_threads", "source_thread_ids"]

BATCH_ITEMS: Final = 256
"""Items per ``append_items`` call (keeps remote requests well under their size limit)."""

_PAGE: Final = 500
# Fields of the first session_meta that the target always writes afresh or that only make sense
# in the source (a fork reference is expanded when read, so the copy holds the items instead).
_IGNORED_META: Final = frozenset({"timestamp", "forked_from_ordinal_exclusive"})

Status = Literal["copied", "skipped", "failed"]


@dataclass(frozen=True)
class CopyOutcome:
    """What happened to one thread. ``reason`` says why it was skipped or failed."""

    thread_id: str
    status: Status
    reason: str | None = None
    items: int = 0
    skipped_items: dict[str, int] = field(default_factory=dict)
    altered_items: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "status": self.status,
            "reason": self.reason,
            "items": self.items,
            "skipped_items": dict(self.skipped_items),
            "altered_items": dict(self.altered_items),
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
        stored = await source.read_thread(ReadThreadParams(thread_id, include_archived=True, include_history=True))
        if stored.archived and not include_archived:
            return CopyOutcome(thread_id, "skipped", "archived (--no-archived)")
        if await _exists(target, stored.thread_id):
            return CopyOutcome(thread_id, "skipped", "already exists in the target")
    except ThreadStoreError as exc:
        return CopyOutcome(thread_id, "failed", str(exc))
    return await _copy(stored, target)


async def _exists(store: ThreadStore, thread_id: str) -> bool:
    try:
        await store.read_thread(ReadThreadParams(thread_id, include_archived=True))
    except ThreadNotFound:
        return False
    return True


def _label(item: Mapping[str, Any]) -> str:
    kind = str(item.get("type"))
    payload = item.get("payload")
    inner = payload.get("type") if isinstance(payload, Mapping) else None
    return f"{kind}/{inner}" if isinstance(inner, str) else kind


def _filter(items: Sequence[Item]) -> tuple[list[Item], Counter[str], Counter[str]]:
    """The items the extended policy keeps (as it keeps them), and per-kind counts of those it
    drops and of those it rewrites."""
    kept: list[Item] = []
    dropped: Counter[str] = Counter()
    altered: Counter[str] = Counter()
    for item in items:
        result = persisted_items([item], "extended")
        if not result:
            dropped[_label(item)] += 1
            continue
        if result[0] != item:
            altered[_label(item)] += 1
        kept.append(result[0])
    return kept, dropped, altered


def _str(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) else None


def create_params(stored: StoredThread, meta: Mapping[str, Any]) -> CreateThreadParams:
    """Create parameters that make the target write the same first ``session_meta`` as ``meta``
    (the source's), falling back to the stored metadata for fields ``meta`` lacks."""
    kind = meta.get("source")
    source: SessionSource = kind if isinstance(kind, str | dict) and kind else stored.source
    tools = meta.get("dynamic_tools")
    originator = _str(meta, "originator")
    return CreateThreadParams(
        thread_id=stored.thread_id,
        cwd=_str(meta, "cwd") or stored.cwd,
        model_provider=_str(meta, "model_provider") or stored.model_provider,
        source=source,
        forked_from_id=_str(meta, "forked_from_id") or stored.forked_from_id,
        parent_thread_id=_str(meta, "parent_thread_id") or stored.parent_thread_id,
        base_instructions=instructions_text(meta.get("base_instructions")),
        dynamic_tools=[t for t in tools if isinstance(t, Mapping)] if isinstance(tools, list) else (),
        event_persistence_mode="extended",
        memory_mode="disabled" if meta.get("memory_mode") == "disabled" else "enabled",
        git_info=GitInfo.from_json(meta.get("git")),
        cli_version=_str(meta, "cli_version") or stored.cli_version,
        created_at=stored.created_at,
        **({"originator": originator} if originator is not None else {}),
    )


def _meta_notes(source: Mapping[str, Any], copied: Mapping[str, Any]) -> list[str]:
    notes: list[str] = []
    for key in sorted((set(source) | set(copied)) - _IGNORED_META):
        if key not in copied:
            notes.append(f"session_meta field {key!r} was not carried over")
        elif key not in source:
            notes.append(f"session_meta field {key!r} was added by the target")
        elif source[key] != copied[key]:
            notes.append(f"session_meta field {key!r} differs in the target")
    return notes


def _first_meta(items: Sequence[Item]) -> Mapping[str, Any] | None:
    if items and items[0].get("type") == "session_meta" and isinstance(items[0].get("payload"), Mapping):
        payload: Mapping[str, Any] = items[0]["payload"]
        return payload
    return None


def _metadata_patch(source: StoredThread, copied: StoredThread) -> ThreadMetadataPatch:
    """The patch that gives the copy the source's name, memory mode and git facts (only the
    fields that differ)."""
    git: GitInfoPatch | Unset = UNSET
    if source.git_info != copied.git_info:
        facts = source.git_info or GitInfo()
        git = GitInfoPatch(sha=facts.commit_hash, branch=facts.branch, origin_url=facts.repository_url)
    return ThreadMetadataPatch(
        name=source.name if source.name != copied.name else UNSET,
        memory_mode=source.memory_mode if source.memory_mode != copied.memory_mode else UNSET,
        git_info=git,
    )


async def _copy(stored: StoredThread, target: ThreadStore) -> CopyOutcome:
    thread_id = stored.thread_id
    history = stored.history.items if stored.history is not None else []
    meta = _first_meta(history)
    kept, dropped, altered = _filter(history[1:] if meta is not None else history)

    def outcome(status: Status, reason: str | None = None, notes: Sequence[str] = ()) -> CopyOutcome:
        return CopyOutcome(thread_id, status, reason, len(kept), dict(dropped), dict(altered), list(notes))

    try:
        await target.create_thread(create_params(stored, meta or {}))
    except ThreadStoreError as exc:
        return outcome("failed", f"create: {exc}")
    try:
        for start in range(0, len(kept), BATCH_ITEMS):
            await target.append_items(AppendThreadItemsParams(thread_id, kept[start : start + BATCH_ITEMS]))
        await target.persist_thread(thread_id)
        await target.flush_thread(thread_id)
        await target.shutdown_thread(thread_id)
    except ThreadStoreError as exc:
        return outcome("failed", f"append: {exc}{await _remove(target, thread_id)}")
    try:
        copied = await target.read_thread(ReadThreadParams(thread_id, include_archived=True, include_history=True))
        copied_items = copied.history.items if copied.history is not None else []
        copied_meta = _first_meta(copied_items)
        if len(copied_items) != len(kept) + 1 or copied_meta is None:
            expected = len(kept) + 1
            return outcome("failed", f"the target holds {len(copied_items)} items, expected {expected} (copy kept)")
        patch = _metadata_patch(stored, copied)
        if not patch.is_empty():
            await target.update_thread_metadata(UpdateThreadMetadataParams(thread_id, patch, include_archived=True))
        if stored.archived and not copied.archived:
            await target.archive_thread(thread_id)
    except ThreadStoreError as exc:
        return outcome("failed", f"metadata: {exc} (the items were copied)")
    return outcome(
        "copied", notes=_meta_notes(meta, copied_meta) if meta is not None else ["no session_meta in the source"]
    )


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
