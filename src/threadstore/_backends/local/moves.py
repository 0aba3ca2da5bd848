"""Archive, unarchive and delete: moving and removing rollout files.

Each operation on a thread without a live writer in this store holds the thread's writer lock
(:mod:`.lock`) from its checks to its last file change, so a writer in another process can
neither be running (``Conflict``) nor start in between (a resume that races a delete waits for
nothing and finds no file). A thread live in this store keeps its writer: archive and unarchive
move the file under it (the open descriptor follows the file), delete discards it afterwards.
With ``fsync=True`` the directories a move touched are synced before the operation returns.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from threadstore._backends.local.catalog import Catalog
from threadstore._backends.local.files import fsync_dir, mtime_ns, os_error
from threadstore._backends.local.layout import COMPRESSED_SUFFIX, Layout, date_parts, logical_path, thread_id_from_name
from threadstore._backends.local.lock import ThreadLock
from threadstore._backends.local.names import remove_names
from threadstore._backends.local.writer import LocalWriter, WriterOptions
from threadstore._contract.patch import ThreadMetadataPatch
from threadstore._contract.types import StoredThread
from threadstore._time import utc_now
from threadstore.errors import Conflict, InvalidRequest, ThreadNotFound

__all__ = ["HomeContext", "archive", "delete", "unarchive"]


@dataclass(frozen=True, slots=True)
class HomeContext:
    """What the operations on stored threads need from their store."""

    layout: Layout
    catalog: Catalog
    options: WriterOptions
    live_writer: Callable[[str], LocalWriter | None]

    @contextlib.contextmanager
    def exclusive(self, thread_id: str) -> Iterator[LocalWriter | None]:
        """Hold the thread against writers of other processes: yields this store's live writer
        when there is one (it already holds the lock), else takes the lock for the duration."""
        writer = self.live_writer(thread_id)
        if writer is not None:
            yield writer
            return
        lock = ThreadLock.acquire(self.layout.locks, thread_id, busy="is being written by another process")
        try:
            yield None
        finally:
            lock.release()


async def archive(ctx: HomeContext, thread_id: str) -> None:
    with ctx.exclusive(thread_id) as writer:
        row = await ctx.catalog.row_for(thread_id)
        if row is None:
            raise ThreadNotFound(thread_id)
        if row.archived:
            raise InvalidRequest(f"thread {thread_id} is already archived")
        source = ctx.layout.scoped(Path(row.path), ctx.layout.sessions, "sessions")
        if thread_id_from_name(source.name) != thread_id:
            raise InvalidRequest(f"rollout path `{source}` does not match thread id {thread_id}")
        target = ctx.layout.archived / source.name
        _move(ctx, source, target)
        if writer is not None:
            writer.path = target
        ctx.catalog.after_move(target, thread_id)


async def unarchive(ctx: HomeContext, thread_id: str) -> StoredThread:
    with ctx.exclusive(thread_id) as writer:
        row = await ctx.catalog.row_for(thread_id)
        if row is None:
            raise ThreadNotFound(thread_id)
        if not row.archived:
            raise InvalidRequest(f"no archived rollout found for thread id {thread_id}")
        source = ctx.layout.scoped(Path(row.path), ctx.layout.archived, "archived_sessions")
        parts = date_parts(source.name)
        if parts is None:
            raise InvalidRequest(f"rollout path `{source}` missing filename timestamp")
        target = ctx.layout.sessions.joinpath(*parts) / source.name
        # First what can fail on a full disk without harm (an updated time a little ahead).
        ctx.catalog.merge_overrides(thread_id, ThreadMetadataPatch(updated_at=utc_now()))
        _move(ctx, source, target)
        with contextlib.suppress(OSError):
            os.utime(target)  # it sorts as recently updated, as in Codex
        if writer is not None:
            writer.path = target
        return ctx.catalog.after_move(target, thread_id)


def _move(ctx: HomeContext, source: Path, target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            raise Conflict(f"rollout {target} already exists")
        before = {d: mtime_ns(d) for d in (source.parent, target.parent)}
        os.rename(source, target)
        for directory, mtime in before.items():
            ctx.catalog.dir_changed(directory, mtime, mtime_ns(directory))
        if ctx.options.fsync:
            for directory in {source.parent, target.parent}:
                fsync_dir(directory)
    except OSError as exc:
        raise os_error("move", source, exc) from None


async def delete(ctx: HomeContext, thread_id: str, discard: Callable[[str], Awaitable[None]]) -> None:
    """Remove every rollout of the thread (plain and compressed, active and archived) and its
    name entries; a live writer of this store is discarded once the files are gone."""
    ctx.catalog.refresh()
    with ctx.exclusive(thread_id) as writer:
        existing = _rollouts_of(ctx, thread_id, writer)
        if not existing:
            if writer is not None:
                await discard(thread_id)
                return
            raise ThreadNotFound(thread_id)
        for path in existing:
            for candidate in (path, Path(f"{path}{COMPRESSED_SUFFIX}")):
                try:
                    os.unlink(candidate)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise os_error("delete", candidate, exc) from None
        remove_names(ctx.layout.session_index, thread_id)
        ctx.catalog.forget(thread_id)
    if writer is not None:
        await discard(thread_id)
    ctx.catalog.dirty.pop(thread_id, None)


def _rollouts_of(ctx: HomeContext, thread_id: str, writer: LocalWriter | None) -> list[Path]:
    paths: set[Path] = set()
    row = ctx.catalog.index.get(thread_id)
    if row is not None:
        paths.add(Path(row.path))
    if writer is not None:
        paths.add(writer.path)
    if row is None:
        for root in (ctx.layout.sessions, ctx.layout.archived):
            if root.is_dir():
                paths.update(root.rglob(f"*{thread_id}.jsonl"))
                paths.update(root.rglob(f"*{thread_id}.jsonl.zst"))
    logical = {Path(logical_path(p)) for p in paths}
    return sorted(p for p in logical if os.path.exists(p) or os.path.exists(f"{p}{COMPRESSED_SUFFIX}"))
