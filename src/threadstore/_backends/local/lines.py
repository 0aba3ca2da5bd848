"""Reading a rollout's records from a byte offset, line by line, with where each line lies.

The rules are those of :func:`~.rollout.parse_chunk` (what ``load_history`` reads): lines split
on ``\\n`` only, blank lines skipped, lines that do not parse skipped (they are not records), and
at the end of the data an unterminated fragment that parses is a record while one that does not
is left for later. So the n-th record met here is the n-th item a whole read gives.

A history may span several files (a fork by reference reads its parent's first lines), so it is
read as a list of :class:`Segment` s: byte ranges of files, the last one usually the thread's own
rollout up to its end. Compressed rollouts (``….jsonl.zst``) are read through a decompressing
stream (seeking forward decompresses and drops what lies before).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, NamedTuple

from threadstore._backends.local.layout import is_compressed
from threadstore._rollout.items import Item
from threadstore._rollout.jsonl import parse_line

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


@contextlib.contextmanager
def _open_at(path: Path, offset: int) -> Iterator[IO[bytes]]:
    with open(path, "rb") as f:
        if is_compressed(path):
            import zstandard

            reader: Any = zstandard.ZstdDecompressor().stream_reader(f)
            if offset:
                reader.seek(offset)
            yield reader
        else:
            if offset:
                f.seek(offset)
            yield f


def iter_lines(path: Path, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, Item, str | None]]:
    """(start, end, item, timestamp) of each record of ``path`` between byte ``start`` (a line
    boundary) and ``end`` (None: the end of the data; see the module documentation)."""
    with _open_at(path, start) as f:
        position = start
        pending = b""
        size = _FIRST_BLOCK
        while True:
            want = size if end is None else min(size, end - position - len(pending))
            size = min(size * 2, _MAX_BLOCK)
            block = f.read(want) if want > 0 else b""
            data = pending + block
            if not block:
                break
            lines = data.split(b"\n")
            pending = lines.pop()
            for raw in lines:
                line_end = position + len(raw) + 1
                if raw:
                    parsed = _parse(raw)
                    if parsed is not None:
                        yield position, line_end, parsed[0], parsed[1]
                position = line_end
        if pending:
            parsed = _parse(pending)
            if parsed is not None:
                yield position, position + len(pending), parsed[0], parsed[1]


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
