"""The rollout JSONL format: one ``{"timestamp", "type", "payload"}`` object per line.

Reading is tolerant by design. Lines are split on ``\\n`` only (a raw U+2028 inside a string is
data, not a line break). Blank lines are skipped. A line that does not parse — a torn tail after
a crash, a run of NUL bytes after power loss, bytes that are not UTF-8 — is skipped and counted,
and never hides the lines after it. NUL padding around an otherwise valid line is stripped. A
line longer than :data:`~threadstore._compressed.MAX_LINE_BYTES` is skipped and counted too,
without being parsed (:func:`line_pieces` never even holds it whole). Pure functions over bytes;
reading files is the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from threadstore import _json
from threadstore._compressed import MAX_LINE_BYTES
from threadstore._rollout.items import DEFAULT_MAX_ITEM_BYTES, Item, encode_item

__all__ = ["RolloutChunk", "encode_line", "line_pieces", "loads_line", "parse_chunk", "parse_line"]


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
    if not _json.may_hold_wide_integer(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
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


def _never(raw: bytes) -> bool:
    return False


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
    # (A line with a wide integer takes the exact path below; data without a run of 20 digits
    # anywhere has none, and its lines need no look of their own.)
    wide = _json.may_hold_wide_integer if _json.may_hold_wide_integer(data) else _never
    for raw in lines:
        if not raw:
            continue
        if len(raw) > MAX_LINE_BYTES:
            chunk.skipped += 1
            continue
        value: Any = None
        if not wide(raw):
            try:
                value = fast_loads(raw)
            except decode_error:
                value = None
        if value is None:
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
            if len(fragment) > MAX_LINE_BYTES:
                raise ValueError("a line too long to read")
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


def line_pieces(
    blocks: Iterable[bytes], base: int = 0, max_line: int = MAX_LINE_BYTES
) -> Iterator[tuple[bytes, int, int]]:
    """Regroup ``blocks`` (consecutive bytes that start at a line boundary, at offset ``base``)
    into pieces for :func:`parse_chunk`: ``(piece, its offset, lines dropped just before it)``.

    Every piece starts at a line boundary and all but the last end with a newline; the last
    (always yielded, maybe empty) holds what follows the last newline. A line longer than
    ``max_line`` is dropped as it is met, never held whole, and counted: memory stays bounded by
    ``max_line`` plus one block, whatever the data."""
    pending: list[bytes] = []
    held = 0
    position = base
    dropped = 0
    skipping = False  # inside a line being dropped
    for block in blocks:
        if skipping:
            cut = block.find(b"\n")
            if cut < 0:
                position += len(block)
                continue
            position += cut + 1
            block = block[cut + 1 :]
            skipping = False
        last = block.rfind(b"\n")
        if last >= 0:
            piece = b"".join((*pending, block[: last + 1]))
            yield piece, position, dropped
            position += len(piece)
            dropped = 0
            block = block[last + 1 :]
            pending, held = [], 0
        if block:
            pending.append(block)
            held += len(block)
        if held > max_line:
            position += held
            pending, held = [], 0
            dropped += 1
            skipping = True
    yield b"".join(pending), position, dropped


def encode_line(item: Mapping[str, Any], timestamp: str, max_bytes: int = DEFAULT_MAX_ITEM_BYTES) -> bytes:
    """One rollout line (``\\n``-terminated) for ``item`` written at ``timestamp``.

    A ``timestamp`` already present in the item is kept (copies keep their original time)."""
    if "timestamp" in item:
        line: Mapping[str, Any] = item
    else:
        line = {"timestamp": timestamp, **item}
    return encode_item(line, max_bytes) + b"\n"
