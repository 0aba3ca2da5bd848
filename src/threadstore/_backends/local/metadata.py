"""Metadata updates of local threads, written where Codex keeps them.

* ``name``: a ``thread_name_updated`` event line in the rollout and an entry in
  ``session_index.jsonl`` (what Codex reads names from).
* ``memory_mode`` and ``git_info``: a ``session_meta`` amendment line (a copy of the thread's
  first ``session_meta`` with the new values) in the rollout.
* every other field: an override in the index (the rollout format has no place for it); a value
  equal to what the rollout itself says stores nothing (see :meth:`Catalog.store_overrides`).
* a thread with paginated history (the 0.169 era) gets no line at all, as Codex of that era
  does: its name goes to ``session_index.jsonl`` only, memory mode and git facts are overrides.

Everything is encoded and checked before the first write, so a patch with a bad field changes
nothing. The lines go through this store's live writer when it has one, else through a one-off
writer holding the thread's lock (``Conflict`` while another process writes the thread); an
update on a live thread resumed from a file outside the home writes to that file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from threadstore._backends.local.index import IndexRow
from threadstore._backends.local.moves import HomeContext
from threadstore._backends.local.names import append_name
from threadstore._backends.local.rollout import read_first_line
from threadstore._backends.local.writer import LocalWriter
from threadstore._contract.patch import UNSET, GitInfoPatch, ThreadMetadataPatch
from threadstore._contract.types import StoredThread
from threadstore._rollout.items import Item, thread_name_updated
from threadstore._rollout.summary import ThreadSummary
from threadstore.errors import Internal

__all__ = ["update_metadata"]

_NO_GIT = {"commit_hash": None, "branch": None, "repository_url": None}


async def update_metadata(ctx: HomeContext, row: IndexRow, patch: ThreadMetadataPatch) -> StoredThread:
    """Apply ``patch`` to the thread of ``row`` and return the thread as it now reads."""
    thread_id = row.thread_id
    path = Path(row.path)
    current = row.thread()
    if current.history_mode == "paginated":
        lines: list[Item] = []
        rest = patch.without("name", "title")
    else:
        lines = _rollout_lines(thread_id, path, current, patch)
        rest = patch.without("name", "memory_mode", "git_info", "title")
    rest.to_json()  # every override encodes (checked before anything is written)
    if lines:
        await _append_lines(ctx, thread_id, path, lines)
    if patch.name is not UNSET:
        append_name(ctx.layout.session_index, thread_id, patch.name)
    if not rest.is_empty():
        ctx.catalog.store_overrides(thread_id, path, row.summary, rest)
    fresh = await ctx.catalog.row_for(thread_id)
    if fresh is None:
        raise Internal(f"thread {thread_id} vanished during a metadata update")
    return ctx.catalog.recompose(fresh)


def _rollout_lines(thread_id: str, path: Path, current: StoredThread, patch: ThreadMetadataPatch) -> list[Item]:
    lines: list[Item] = []
    if patch.name is not UNSET:
        lines.append(thread_name_updated(thread_id, patch.name))
    if patch.memory_mode is UNSET and not isinstance(patch.git_info, GitInfoPatch):
        return lines
    first = read_first_line(path)
    payload = (first or {}).get("payload")
    if first is None or first.get("type") != "session_meta" or not isinstance(payload, dict):
        raise Internal(f"rollout {path} does not start with session metadata")
    if payload.get("id") != thread_id:
        raise Internal(
            f"failed to update thread metadata: rollout session metadata id mismatch: expected {thread_id}, "
            f"found {payload.get('id')}"
        )
    amended: dict[str, Any] = {k: v for k, v in payload.items() if k != "git"}
    amended["memory_mode"] = patch.memory_mode if patch.memory_mode is not UNSET else current.memory_mode
    if isinstance(patch.git_info, GitInfoPatch):
        git = patch.git_info.apply(current.git_info)
        amended["git"] = git.to_json() if git else dict(_NO_GIT)
    else:
        amended["git"] = None  # an amendment that leaves git alone
    lines.append({"type": "session_meta", "payload": amended})
    return lines


async def _append_lines(ctx: HomeContext, thread_id: str, path: Path, lines: list[Item]) -> None:
    """Append metadata lines: through the live writer when there is one, else directly."""
    writer = ctx.live_writer(thread_id)
    if writer is not None:
        async with writer.lock:
            if not writer.closed:
                await writer.write(lines)
                return
    with ctx.exclusive(thread_id):  # the one-off writer below runs under this lock
        path = ctx.catalog.plain_rollout(path)
        cold = LocalWriter(thread_id, "extended", path, None, ThreadSummary(thread_id), ctx.options, None)
        cold.open_existing()
        try:
            await cold.write(lines)
            await cold.flush()
        finally:
            await cold.abandon()
