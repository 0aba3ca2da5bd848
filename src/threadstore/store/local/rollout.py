"""The rollout JSONL format: one ``{"timestamp", "type", "payload"}`` object per line.

Reading is tolerant by design. Lines are split on ``\\n`` only (a raw U+2028 inside a string is
data, not a line break). Blank lines are skipped. A line that does not parse — a torn tail after
a crash, a run of NUL bytes after power loss, bytes that are not UTF-8 — is skipped and counted,
and never hides the lines after it. NUL padding around an otherwise valid line is stripped.

Two forms newer Codex builds write are read here too: zstd-compressed rollouts
(``….jsonl.zst``; :func:`materialize_plain` turns one back into plain JSONL before an append, as
Codex does) and forks by reference (a ``session_meta`` naming ``forked_from_id`` and
``forked_from_ordinal_exclusive`` stands for the parent's lines before that ordinal;
:func:`resolve_forks` expands it).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from ... import _json
from ...errors import Internal, InvalidRequest
from ...items import DEFAULT_MAX_ITEM_BYTES, Item, encode_item
from .files import os_error, replace_file
from .layout import is_compressed, logical_path

__all__ = [
    "RolloutChunk",
    "decompress",
    "encode_line",
    "loads_line",
    "materialize_plain",
    "ordinal",
    "parse_line",
    "read_first_line",
    "read_resolved",
    "read_rollout",
    "resolve_forks",
]

_log: Final = logging.getLogger("threadstore.local")
_MAX_FORK_DEPTH: Final = 16
#: Longest line :func:`read_first_line` reads (a ``session_meta`` carries the thread's base
#: instructions, which may be several megabytes); a longer first line counts as unreadable.
MAX_FIRST_LINE_BYTES: Final = 64 * 1024 * 1024


@dataclass(slots=True)
class RolloutChunk:
    """Items read from a rollout (or from one offset of it onwards)."""

    items: list[Item] = field(default_factory=list)
    timestamps: list[str | None] = field(default_factory=list)
    #: Lines that could not be parsed and were skipped.
    skipped: int = 0
    #: Byte offset just after the last complete (newline-terminated) line.
    end_offset: int = 0
    #: Whether the data ends with an unterminated fragment (a torn or in-progress line).
    torn_tail: bool = False


def loads_line(raw: bytes) -> Any:
    """Parse one JSON line (``ValueError`` when it is not JSON).

    A value only the standard-library fallback accepts (a huge integer, a lone surrogate escape
    such as ``"\\ud800"``) must also encode back to UTF-8 JSON, or the line counts as corrupt:
    the index and every writer downstream would fail on it."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = _json.loads(raw)
        _json.dumps(value)
        return value


def _parse_line(raw: bytes) -> tuple[Item, str | None] | None:
    if b"\x00" in raw:
        raw = raw.strip(b"\x00").strip()
        if not raw:
            raise ValueError("a run of NUL bytes")  # power-loss padding: counted, not data
    raw = raw.strip()
    if not raw:
        return None
    value = loads_line(raw)
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise ValueError("not a rollout line")
    ts = value.pop("timestamp", None)
    return value, ts if isinstance(ts, str) else None


#: One line by the tolerant rules (what :func:`parse_chunk` falls back to when the fast decoder
#: fails): the item and its timestamp, None for a blank line, ``ValueError`` for a line that is
#: not a record.
parse_line = _parse_line


def parse_chunk(data: bytes, base_offset: int = 0) -> RolloutChunk:
    """Parse ``data`` (which starts at a line boundary at ``base_offset``).

    The common case — a well-formed line — takes one ``orjson.loads``; only lines that fail it go
    through the tolerant path (NUL stripping, fallback decoder, corruption counting)."""
    chunk = RolloutChunk(end_offset=base_offset)
    lines = data.split(b"\n")
    fragment = lines.pop()  # what follows the last newline ("" when the data ends with one)
    items = chunk.items
    stamps = chunk.timestamps
    fast_loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    for raw in lines:
        if not raw:
            continue
        try:
            value = fast_loads(raw)
        except decode_error:
            try:
                parsed = _parse_line(raw)
            except ValueError:
                chunk.skipped += 1
                continue
            if parsed is not None:
                items.append(parsed[0])
                stamps.append(parsed[1])
            continue
        if type(value) is not dict or type(value.get("type")) is not str:
            chunk.skipped += 1
            continue
        ts = value.pop("timestamp", None)
        items.append(value)
        stamps.append(ts if type(ts) is str else None)
    chunk.end_offset = base_offset + len(data) - len(fragment)
    if fragment:
        # An unterminated fragment. A complete line missing only its newline is taken (and
        # counts as consumed); anything else is a torn or still-growing line: it is counted as
        # skipped but not consumed, so an incremental reader looks at it again later.
        try:
            parsed = _parse_line(fragment)
        except ValueError:
            parsed = None
            if fragment.strip(b"\x00").strip():
                chunk.skipped += 1
                chunk.torn_tail = True
        if parsed is not None:
            items.append(parsed[0])
            stamps.append(parsed[1])
            chunk.end_offset = base_offset + len(data)
    return chunk


def read_rollout(path: Path, offset: int = 0) -> RolloutChunk:
    """Read a rollout file from ``offset`` (a line boundary) to its end.

    Raises ``ThreadNotFound``-free errors only: ``InvalidRequest`` when the path is not a
    readable file, ``Internal`` on other I/O errors.
    """
    try:
        if is_compressed(path):
            data = decompress(path)[offset:]
        else:
            with open(path, "rb") as f:
                if offset:
                    f.seek(offset)
                data = f.read()
    except FileNotFoundError:
        raise InvalidRequest(f"failed to resolve rollout path `{path}`: file does not exist") from None
    except IsADirectoryError:
        raise InvalidRequest(f"failed to resolve rollout path `{path}`: path is a directory") from None
    except OSError as exc:
        raise Internal(f"failed to read rollout {path}: {exc}") from None
    return parse_chunk(data, offset)


def decompress(path: Path) -> bytes:
    """The content of a zstd-compressed rollout. Raises ``OSError`` for I/O problems and
    ``Internal`` for data that is not zstd."""
    import zstandard

    with open(path, "rb") as f:
        try:
            return zstandard.ZstdDecompressor().stream_reader(f).read()
        except zstandard.ZstdError as exc:
            raise Internal(f"rollout {path} is not valid zstd data: {exc}") from None


def read_first_line(path: Path) -> Item | None:
    """The first parseable item of a rollout (its canonical ``session_meta``), if any."""
    if is_compressed(path):
        try:
            chunk = read_rollout(path)
        except (InvalidRequest, Internal):
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
                    parsed = _parse_line(raw)
                except ValueError:
                    continue
                if parsed is not None:
                    return parsed[0]
    except OSError:
        return None


def encode_line(item: Mapping[str, Any], timestamp: str, max_bytes: int = DEFAULT_MAX_ITEM_BYTES) -> bytes:
    """One rollout line (``\\n``-terminated) for ``item`` written at ``timestamp``.

    A ``timestamp`` already present in the item is kept (copies keep their original time)."""
    if "timestamp" in item:
        line: Mapping[str, Any] = item
    else:
        line = {"timestamp": timestamp, **item}
    return encode_item(line, max_bytes) + b"\n"


def ordinal(item: Item, index: int) -> int:
    """A line's ``ordinal`` (newer Codex files), or its position."""
    value = item.get("ordinal")
    return value if isinstance(value, int) and not isinstance(value, bool) else index


def resolve_forks(path: Path, chunk: RolloutChunk, find_path: Callable[[str], Path | None]) -> RolloutChunk:
    """``chunk`` (the whole of ``path``) with a fork reference expanded: when its first line is
    a ``session_meta`` with ``forked_from_id`` and ``forked_from_ordinal_exclusive``, the parent's
    lines before that ordinal (found through ``find_path``, resolved recursively) follow it. A
    parent that cannot be found or read leaves the chunk as it is."""
    return _resolve(path, chunk, find_path, 0)


def _resolve(path: Path, chunk: RolloutChunk, find_path: Callable[[str], Path | None], depth: int) -> RolloutChunk:
    items, stamps = chunk.items, chunk.timestamps
    if not items or depth >= _MAX_FORK_DEPTH or items[0].get("type") != "session_meta":
        return chunk
    meta = items[0].get("payload") or {}
    parent_id = meta.get("forked_from_id") if isinstance(meta, Mapping) else None
    cut = meta.get("forked_from_ordinal_exclusive") if isinstance(meta, Mapping) else None
    if not isinstance(parent_id, str) or not isinstance(cut, int) or isinstance(cut, bool):
        return chunk
    parent_path = find_path(parent_id)
    if parent_path is None or parent_path == path:
        return chunk
    try:
        parent = _resolve(parent_path, read_rollout(parent_path), find_path, depth + 1)
    except (InvalidRequest, Internal):
        return chunk
    kept = [
        (item, ts)
        for index, (item, ts) in enumerate(zip(parent.items, parent.timestamps, strict=True))
        if ordinal(item, index) < cut
    ]
    return RolloutChunk(
        items=[items[0], *(i for i, _ in kept), *items[1:]],
        timestamps=[stamps[0], *(t for _, t in kept), *stamps[1:]],
        skipped=chunk.skipped,
        end_offset=chunk.end_offset,
        torn_tail=chunk.torn_tail,
    )


def read_resolved(path: Path, find_path: Callable[[str], Path | None]) -> RolloutChunk:
    """The whole rollout at ``path`` with fork references expanded; unreadable lines are
    skipped and logged."""
    chunk = resolve_forks(path, read_rollout(path), find_path)
    if chunk.skipped:
        _log.warning("skipped %d unreadable line(s) in %s", chunk.skipped, path)
    return chunk


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
