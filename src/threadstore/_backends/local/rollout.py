"""Rollout files of a home: read whole or from an offset (the line format itself is
:mod:`threadstore._rollout.jsonl`), their first line, and the two forms newer Codex builds
write: zstd-compressed rollouts (``….jsonl.zst``; :func:`materialize_plain` turns one back into
plain JSONL before an append, as Codex does) and forks by reference (a ``session_meta`` naming
``forked_from_id`` and ``forked_from_ordinal_exclusive`` stands for the parent's lines before
that ordinal; read through :mod:`threadstore._rollout.forks`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from threadstore._backends.local.files import os_error, replace_file
from threadstore._backends.local.layout import is_compressed, logical_path
from threadstore._compressed import MAX_LINE_BYTES, MAX_ROLLOUT_BYTES, decompress, read_file
from threadstore._rollout import forks
from threadstore._rollout.items import Item
from threadstore._rollout.jsonl import RolloutChunk, loads_line, parse_chunk, parse_line
from threadstore.errors import Internal, InvalidRequest, ResourceExhausted

__all__ = [
    "UNREADABLE",
    "history_base",
    "materialize_plain",
    "read_first_line",
    "read_resolved",
    "read_rollout",
    "read_tail",
]

_log: Final = logging.getLogger("threadstore.local")
#: Longest line :func:`read_first_line` reads (a ``session_meta`` carries the thread's base
#: instructions, which may be several megabytes); a longer first line counts as unreadable.
MAX_FIRST_LINE_BYTES: Final = MAX_LINE_BYTES
#: What reading a rollout raises when it cannot be read: missing, broken, or over the limits of
#: :mod:`threadstore._compressed` (such a file is counted as unreadable, the rest of the home
#: unaffected).
UNREADABLE: Final = (InvalidRequest, Internal, ResourceExhausted)
#: The first block :func:`read_tail` reads from the end of a file (it doubles while needed).
_TAIL_BLOCK: Final = 64 * 1024


def read_rollout(path: Path, offset: int = 0) -> RolloutChunk:
    """Read a rollout file (plain or compressed) from ``offset`` (a line boundary) to its end.

    Raises ``InvalidRequest`` when the path is not a readable file, ``Internal`` on other I/O
    errors."""
    return parse_chunk(read_file(path, offset), offset)


def read_first_line(path: Path) -> Item | None:
    """The first parseable item of a rollout (its canonical ``session_meta``), if any."""
    if is_compressed(path):
        try:
            chunk = read_rollout(path)
        except UNREADABLE:
            return None
        return dict(chunk.items[0]) if chunk.items else None
    try:
        with open(path, "rb") as f:
            while True:
                raw = f.readline(MAX_FIRST_LINE_BYTES)
                if not raw:
                    return None
                if len(raw) == MAX_FIRST_LINE_BYTES and not raw.endswith(b"\n"):
                    return None  # too long to be a line this store reads whole
                try:
                    parsed = parse_line(raw)
                except ValueError:
                    continue
                if parsed is not None:
                    return parsed[0]
    except OSError:
        return None


def _parse_last(data: bytes, base: int, count: int) -> RolloutChunk:
    """The readable lines of ``data`` (which starts at a line boundary), parsing only the last
    ``count`` complete lines when they are all readable."""
    end = len(data)
    cut = end
    for _ in range(count + 1):  # back over the unterminated tail and ``count`` lines
        cut = data.rfind(b"\n", 0, cut)
        if cut < 0:
            return parse_chunk(data, base)
    chunk = parse_chunk(data[cut + 1 :], base + cut + 1)
    return chunk if len(chunk.items) >= count else parse_chunk(data, base)


def read_tail(path: Path, count: int, *, resolve_forks: bool = True) -> RolloutChunk | None:
    """The last ``count`` readable lines of a plain rollout, read from its end: blocks of bytes
    from the end back (doubling) until they hold that many lines or the file's start. Lines
    are parsed as :func:`read_rollout` parses them (unreadable ones skipped, a torn last line
    left out). None when only a whole read can answer: a compressed file, or (with
    ``resolve_forks``) a file whose lines all fit and whose first line forks by reference.

    Raises as :func:`read_rollout`."""
    if is_compressed(path):
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            block = _TAIL_BLOCK
            while True:
                start = max(0, size - block)
                if size - start > MAX_ROLLOUT_BYTES:  # as much as a whole read may take
                    raise ResourceExhausted(f"rollout {path} holds more than {MAX_ROLLOUT_BYTES} bytes: refused")
                data = os.pread(fd, size - start, start)
                if start > 0:
                    newline = data.find(b"\n")
                    skip = newline + 1 if newline >= 0 else len(data)
                    data, base = data[skip:], start + skip
                else:
                    base = 0
                chunk = _parse_last(data, base, count)
                if len(chunk.items) >= count or start == 0:
                    break
                block *= 4
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise InvalidRequest(f"failed to resolve rollout path `{path}`: file does not exist") from None
    except IsADirectoryError:
        raise InvalidRequest(f"failed to resolve rollout path `{path}`: path is a directory") from None
    except OSError as exc:
        raise Internal(f"failed to read rollout {path}: {exc}") from None
    if start == 0 and resolve_forks and forks.fork_reference(chunk.items) is not None:
        return None
    if len(chunk.items) > count:
        del chunk.items[:-count]
        del chunk.timestamps[:-count]
    return chunk


def read_resolved(path: Path, find_path: Callable[[str], Path | None]) -> RolloutChunk:
    """The whole rollout at ``path`` with a fork reference expanded (:mod:`..forks`; parents
    are found through ``find_path``); unreadable lines are skipped and logged."""
    chunk = read_rollout(path)
    if chunk.skipped:
        _log.warning("skipped %d unreadable line(s) in %s", chunk.skipped, path)

    def parent_lines(thread_id: str) -> tuple[list[Item], list[str | None]] | None:
        parent = find_path(thread_id)
        if parent is None or parent == path:
            return None
        try:
            lines = read_rollout(parent)
        except UNREADABLE:
            return None
        return lines.items, lines.timestamps

    items, stamps = forks.resolve(chunk.items, chunk.timestamps, parent_lines)
    return RolloutChunk(items, stamps, chunk.skipped, chunk.end_offset, chunk.torn_tail)


def materialize_plain(path: Path) -> Path:
    """The rollout to append to: a compressed one is first written back as plain JSONL (synced,
    then the compressed file removed), as Codex does; a plain one is returned as it is."""
    if not is_compressed(path):
        return path
    plain = Path(logical_path(path))
    try:
        data = decompress(path)
        replace_file(plain, data if data.endswith(b"\n") or not data else data + b"\n")
        os.unlink(path)
    except OSError as exc:
        raise os_error("decompress", path, exc) from None
    return plain


def history_base(path: Path, parent_id: str, cut: int) -> dict[str, Any] | None:
    """Where a fork by reference that keeps its parent's lines below ordinal ``cut`` ends in the
    parent's rollout at ``path``: ``{"thread_id", "end_ordinal_exclusive", "end_byte_offset"}``
    (the offset just after the last kept line), as Codex writes it in the fork's
    ``session_meta``. None when the file cannot be read or its own lines do not reach the cut
    (the cut falls in lines the parent itself inherits)."""
    try:
        data = read_file(path)
    except (OSError, *UNREADABLE):
        return None
    end: int | None = None
    offset = 0
    for index, raw in enumerate(data.split(b"\n")):
        offset += len(raw) + 1
        try:
            line = loads_line(raw) if raw.strip() else None
        except ValueError:
            continue
        if not isinstance(line, dict):
            continue
        if forks.ordinal(line, index) >= cut:
            break
        end = min(offset, len(data))
    if end is None:
        return None
    return {"thread_id": parent_id, "end_ordinal_exclusive": cut, "end_byte_offset": end}
