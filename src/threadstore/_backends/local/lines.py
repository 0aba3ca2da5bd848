"""Reading a rollout's records from a byte offset, line by line, with where each line lies.

The rules are those of :func:`~.rollout.parse_chunk` (what ``load_history`` reads): lines split
on ``\\n`` only, blank lines skipped, lines that do not parse skipped (they are not records), and
at the end of the data an unterminated fragment that parses is a record while one that does not
is left for later. So the n-th record met here is the n-th item a whole read gives.

A history may span several files (a fork by reference reads its parent's first lines), so it is
read as a list of :class:`Segment` s: byte ranges of files, the last one usually the thread's own
rollout up to its end. Compressed rollouts (``….jsonl.zst``) are read through a decompressing
stream (seeking forward decompresses and drops what lies before), within the limits of
:mod:`threadstore._compressed`; a line longer than its ``MAX_LINE_BYTES`` is skipped, as a whole
read skips it.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, NamedTuple

from threadstore._backends.local.layout import is_compressed
from threadstore._compressed import MAX_LINE_BYTES, decompressed_chunks
from threadstore._rollout.items import Item
from threadstore._rollout.jsonl import line_pieces, parse_line

__all__ = ["Line", "Segment", "iter_lines", "iter_segments"]

#: Reads start small (a page needs a few lines) and grow while more is read.
_FIRST_BLOCK: Final = 16 * 1024
_MAX_BLOCK: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Segment:
    """Bytes ``start`` to ``end`` (None: the end of the file) of a file (None: the thread's own
    rollout)."""

    path: str | None
    start: int
    end: int | None

    def to_json(self) -> list[Any]:
        return [self.path, self.start, self.end]

    @classmethod
    def from_json(cls, value: Sequence[Any]) -> Segment:
        return cls(value[0], int(value[1]), None if value[2] is None else int(value[2]))


class Line(NamedTuple):
    """One record of a history: its ordinal, where its line lies (segment, start and end
    offsets), the item and the line's ``timestamp``."""

    ordinal: int
    segment: int
    start: int
    end: int
    item: Item
    timestamp: str | None


def _parse(raw: bytes) -> tuple[Item, str | None] | None:
    try:
        return parse_line(raw)
    except ValueError:
        return None


def _blocks(path: Path, start: int, end: int | None) -> Iterator[bytes]:
    """The bytes of ``path`` from ``start`` to ``end`` (None: the end of the data), in blocks
    that start small and grow (a compressed rollout is read within the limits of
    :mod:`threadstore._compressed`)."""
    with open(path, "rb") as f:
        if is_compressed(path):
            source = decompressed_chunks(f, path, _MAX_BLOCK, start)
        else:
            f.seek(start)
            source = _growing(f)
        position = start
        for block in source:
            if end is not None:
                block = block[: max(end - position, 0)]
            if not block:
                return
            position += len(block)
            yield block


def _growing(f: IO[bytes]) -> Iterator[bytes]:
    size = _FIRST_BLOCK
    while block := f.read(size):
        yield block
        size = min(size * 2, _MAX_BLOCK)


def iter_lines(path: Path, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, Item, str | None]]:
    """(start, end, item, timestamp) of each record of ``path`` between byte ``start`` (a line
    boundary) and ``end`` (None: the end of the data; see the module documentation)."""
    for piece, position, _ in line_pieces(_blocks(path, start, end), start):
        lines = piece.split(b"\n")
        fragment = lines.pop()  # empty but in the last piece
        for raw in lines:
            line_end = position + len(raw) + 1
            if raw and len(raw) <= MAX_LINE_BYTES:
                parsed = _parse(raw)
                if parsed is not None:
                    yield position, line_end, parsed[0], parsed[1]
            position = line_end
        if fragment and len(fragment) <= MAX_LINE_BYTES:
            parsed = _parse(fragment)
            if parsed is not None:
                yield position, position + len(fragment), parsed[0], parsed[1]


def iter_segments(
    own: Path, segments: Sequence[Segment], segment: int = 0, offset: int | None = None, ordinal: int = 0
) -> Generator[Line, None, None]:
    """The records of a history read through ``segments``, from segment number ``segment`` at
    byte ``offset`` (default: that segment's start), numbered from ``ordinal``."""
    for number in range(segment, len(segments)):
        seg = segments[number]
        path = own if seg.path is None else Path(seg.path)
        start = offset if offset is not None and number == segment else seg.start
        for line_start, line_end, item, timestamp in iter_lines(path, start, seg.end):
            yield Line(ordinal, number, line_start, line_end, item, timestamp)
            ordinal += 1


def file_identity(path: Path) -> tuple[int, int] | None:
    """(inode, size) of a file, None when it cannot be read."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_ino, stat.st_size
