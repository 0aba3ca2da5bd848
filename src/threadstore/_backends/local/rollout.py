"""The rollout JSONL format: one ``{"timestamp", "type", "payload"}`` object per line.

Reading is tolerant by design. Lines are split on ``\\n`` only (a raw U+2028 inside a string is
data, not a line break). Blank lines are skipped. A line that does not parse — a torn tail after
a crash, a run of NUL bytes after power loss, bytes that are not UTF-8 — is skipped and counted,
and never hides the lines after it. NUL padding around an otherwise valid line is stripped.

Two forms newer Codex builds write are read here too: zstd-compressed rollouts
(``….jsonl.zst``; :func:`materialize_plain` turns one back into plain JSONL before an append, as
Codex does) and forks by reference (a ``session_meta`` naming ``forked_from_id`` and
``forked_from_ordinal_exclusive`` stands for the parent's lines before that ordinal;
this module reads it through :mod:`threadstore._rollout.forks`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from threadstore import _json
from threadstore._backends.local.files import os_error, replace_file
from threadstore._backends.local.layout import is_compressed, logical_path
from threadstore._rollout import forks
from threadstore._rollout.items import DEFAULT_MAX_ITEM_BYTES, Item, encode_item
from threadstore.errors import Internal, InvalidRequest

__all__ = [
    "RolloutChunk",
    "decompress",
    "encode_line",
    "history_base",
    "loads_line",
    "materialize_plain",
    "parse_line",
    "read_first_line",
    "read_resolved",
    "read_rollout",
]

_log: Final = logging.getLogger("threadstore.local")
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
        except (InvalidRequest, Internal):
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
        data = decompress(path) if is_compressed(path) else path.read_bytes()
    except (OSError, Internal):
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
