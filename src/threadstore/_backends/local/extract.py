"""What one rollout file says for the index, computed from the file alone.

Everything here is a pure function of a file's bytes and of the names and overrides the caller
looked up: no index access, no shared state. The catalog runs it on the event-loop thread, the
background fill (:mod:`.fill`) on its thread and in worker processes (:mod:`.workers`), and all
three get the same row for the same file.

A file is read in chunks of :data:`CHUNK` bytes split at line boundaries, each chunk folded into
the summary and dropped before the next is read: memory stays bounded by the chunk size and the
longest line read (:data:`~threadstore._compressed.MAX_LINE_BYTES`; a longer one is skipped and
counted), whatever the file's size. A compressed rollout is decompressed within the limits of
:mod:`threadstore._compressed`: one over them is refused (``ResourceExhausted``, logged). A rollout that forks by reference (its first line names
``forked_from_id`` and ``forked_from_ordinal_exclusive``) needs its parent's lines, which only
the index can find: :func:`read_facts` reads it whole when given a way to find them, else
reports it (:class:`ForkReference`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from threadstore._backends.local.layout import is_compressed, logical_path
from threadstore._backends.local.rollout import read_resolved
from threadstore._compressed import decompressed_chunks
from threadstore._contract.patch import ThreadMetadataPatch, apply_patch
from threadstore._contract.serialize import thread_from_fold
from threadstore._contract.types import StoredThread
from threadstore._rollout import forks
from threadstore._rollout.jsonl import RolloutChunk, line_pieces, parse_chunk
from threadstore._rollout.summary import ThreadSummary
from threadstore._rollout.texts import SearchTexts, has_edit
from threadstore._time import utc_now
from threadstore.errors import Internal, InvalidRequest, ResourceExhausted

__all__ = [
    "CHUNK",
    "Facts",
    "ForkReference",
    "compose_thread",
    "fold_chunk",
    "is_fork_reference",
    "read_facts",
]

_log: Final = logging.getLogger("threadstore.local")
#: Bytes read at a time (a file of any size costs this much memory, plus its longest line).
CHUNK: Final = 4 * 1024 * 1024
#: Read beyond the size a file had (it may have grown since).
_PROBE: Final = 64 * 1024


@dataclass(slots=True)
class Facts:
    """What the index keeps of one rollout, as read from the file.

    ``end_offset`` is where an incremental read resumes (just after the last complete line; for
    a compressed rollout, which is never read incrementally, the file's size). ``texts`` are the
    message texts read this time (for an incremental read: those after the old offset), unless
    ``whole``: then they are the texts of the whole visible history (an incremental read that
    met a history edit reads the file again from its start, since the edit may have taken
    earlier texts away)."""

    thread_id: str
    summary: ThreadSummary
    texts: list[str]
    end_offset: int
    skipped: int
    stat: os.stat_result
    whole: bool = True


class _EditSeen(Exception):
    """An incremental read met a history edit: the file must be read again from its start."""


class ForkReference(Exception):
    """The rollout forks by reference: reading it needs its parent, found through the index."""


def is_fork_reference(item: Mapping[str, Any]) -> bool:
    """Whether a rollout's first item stands for its parent's lines (see :mod:`..forks`)."""
    return forks.fork_reference([item]) is not None


def fold_chunk(summary: ThreadSummary, chunk: RolloutChunk, texts: SearchTexts) -> None:
    """Fold ``chunk``'s items into ``summary`` and their message texts into ``texts`` (see
    :class:`~threadstore._rollout.texts.SearchTexts`)."""
    add = summary.add
    add_text = texts.add
    for item, ts in zip(chunk.items, chunk.timestamps, strict=True):
        add(item, ts)
        add_text(item)


def read_facts(
    path: Path | str,
    thread_id: str,
    since: tuple[ThreadSummary, int] | None = None,
    find_path: Callable[[str], Path | None] | None = None,
) -> Facts:
    """Read the rollout at ``path`` (from offset ``since[1]`` on, continuing ``since[0]``, when
    given) and fold it. Raises ``InvalidRequest`` when the file is missing or not a file,
    ``ResourceExhausted`` (logged) for a rollout over the limits of :mod:`threadstore._compressed`,
    ``Internal`` on other read errors. A rollout that forks by reference is read whole with its
    parent's lines (found through ``find_path``) when ``find_path`` is given, else raises
    :class:`ForkReference`."""
    try:
        return _read_facts(path, thread_id, since, find_path)
    except ResourceExhausted as exc:
        _log.warning("%s", exc)
        raise


def _read_facts(
    path: Path | str,
    thread_id: str,
    since: tuple[ThreadSummary, int] | None,
    find_path: Callable[[str], Path | None] | None,
) -> Facts:
    try:
        try:
            return _read(path, thread_id, since)
        except _EditSeen:
            return _read(path, thread_id, None)
    except ForkReference:
        if find_path is None:
            raise
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise Internal(f"failed to stat rollout {path}: {exc}") from None
    chunk = read_resolved(Path(path), find_path)
    summary = ThreadSummary(thread_id)
    texts = SearchTexts()
    fold_chunk(summary, chunk, texts)
    end = stat.st_size if is_compressed(path) else chunk.end_offset
    return Facts(thread_id, summary, texts.texts, end, chunk.skipped, stat)


def _read(path: Path | str, thread_id: str, since: tuple[ThreadSummary, int] | None) -> Facts:
    summary, offset = since if since is not None else (ThreadSummary(thread_id), 0)
    texts = SearchTexts()
    skipped = 0
    end = offset
    try:
        with _open(path, offset) as (stat, chunks):
            first = since is None
            for data, base, dropped in line_pieces(chunks, offset):
                chunk = parse_chunk(data, base)
                if first and chunk.items:
                    first = False
                    if is_fork_reference(chunk.items[0]):
                        raise ForkReference(str(path))
                if since is not None and has_edit(chunk.items):
                    raise _EditSeen
                fold_chunk(summary, chunk, texts)
                skipped += chunk.skipped + dropped
                end = chunk.end_offset
    except FileNotFoundError:
        raise InvalidRequest(f"failed to resolve rollout path `{path}`: file does not exist") from None
    except IsADirectoryError:
        raise InvalidRequest(f"failed to resolve rollout path `{path}`: path is a directory") from None
    except OSError as exc:
        raise Internal(f"failed to read rollout {path}: {exc}") from None
    if is_compressed(path):
        end = stat.st_size
    return Facts(thread_id, summary, texts.texts, end, skipped, stat, whole=since is None)


class _open:
    """``with _open(path, offset) as (stat, chunks)``: the file's stat and an iterator of its
    bytes from ``offset`` on (decompressed for a ``.jsonl.zst`` rollout, within the limits of
    :mod:`threadstore._compressed`), read :data:`CHUNK` at a time."""

    def __init__(self, path: Path | str, offset: int) -> None:
        self.path = path
        self.offset = offset
        self.file: IO[bytes] | None = None

    def __enter__(self) -> tuple[os.stat_result, Iterator[bytes]]:
        self.file = f = open(self.path, "rb")
        stat = os.fstat(f.fileno())
        if not _is_regular(stat):
            raise IsADirectoryError(str(self.path))
        if is_compressed(self.path):
            return stat, decompressed_chunks(f, self.path, CHUNK, self.offset)
        os.lseek(f.fileno(), self.offset, os.SEEK_SET)
        return stat, _raw(f.fileno(), stat.st_size - self.offset)

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()


def _is_regular(stat: os.stat_result) -> bool:
    import stat as st

    return st.S_ISREG(stat.st_mode)


def _raw(fd: int, size: int) -> Iterator[bytes]:
    # Reads sized to the file (a buffer of CHUNK bytes for a small file costs more than the
    # file); a short read is the end of the file as it is now.
    left = size
    while True:
        wanted = min(CHUNK, max(left, 0) + _PROBE)
        data = os.read(fd, wanted)
        if not data:
            return
        left -= len(data)
        yield data
        if len(data) < wanted:
            return


def compose_thread(
    thread_id: str,
    path: Path | str,
    summary: ThreadSummary,
    stat: os.stat_result | None,
    *,
    archived: bool,
    name_entry: str | None,
    overrides: ThreadMetadataPatch | None,
    default_provider: str,
) -> StoredThread:
    """The StoredThread a rollout describes: times fall back on the file's modification time,
    an archived rollout's ``archived_at`` is its last change, the ``session_index.jsonl`` entry
    (``name_entry``: None = none, "" = cleared) wins over the rollout's own rename events, and
    ``overrides`` (when given) are applied last."""
    mtime = datetime.fromtimestamp(stat.st_mtime, UTC) if stat else utc_now()
    archived_at = None
    if archived:
        archived_at = datetime.fromtimestamp(max(stat.st_ctime, stat.st_mtime), UTC) if stat else mtime
    thread = thread_from_fold(
        summary,
        thread_id=thread_id,
        fallback_time=mtime,
        rollout_path=logical_path(path),
        archived_at=archived_at,
        name=(name_entry or None) if name_entry is not None else summary.rollout_name,
        default_provider=default_provider,
    )
    if name_entry is not None and not name_entry and thread.name is not None:
        thread = _without_name(thread)
    return apply_patch(thread, overrides) if overrides is not None else thread


def _without_name(thread: StoredThread) -> StoredThread:
    import dataclasses

    return dataclasses.replace(thread, name=None)
