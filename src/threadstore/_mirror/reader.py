"""Reading a rollout the way a mirror does: from where it stopped, a bounded slice at a time.

Offsets are positions in the rollout's *logical* content: the bytes of a plain ``.jsonl``, or
the decompressed bytes of a ``.jsonl.zst`` (a rollout Codex compresses later keeps its offsets).

A slice ends after the last complete line it holds. A line still being written (no newline
yet) is left for the next read, unless the read is ``final`` (a compressed rollout, which is
never appended to in place, or a one-off run): then a complete line that only lacks its
newline is taken, as :func:`threadstore._rollout.jsonl.parse_chunk` takes it. Lines that do not
parse (a torn line after a crash, NUL padding) are skipped and counted, as every reader of a
home skips them; the slice's end moves past them all the same.

The *tail* of a position is the CRC-32 of the (up to) :data:`TAIL_BYTES` bytes before it: a
mirror remembers the tail of what it sent, and a rollout whose bytes there changed was
rewritten rather than appended to.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final

from threadstore._compressed import is_compressed
from threadstore._rollout.items import DEFAULT_MAX_ITEM_BYTES, Item
from threadstore._rollout.jsonl import parse_chunk

__all__ = [
    "MAX_SLICE_BYTES",
    "TAIL_BYTES",
    "Slice",
    "logical_size",
    "numbered_lines",
    "prefix_crc",
    "read_all",
    "read_slice",
    "tail_of",
]

TAIL_BYTES: Final = 4096
#: How many bytes one slice reads (a longer line is read whole, up to the item limit).
MAX_SLICE_BYTES: Final = 4 * 1024 * 1024
_CHUNK: Final = 1 << 20


@dataclass(slots=True)
class Slice:
    """Lines read from ``start`` on: ``lines`` (each with its ``timestamp`` as its first field,
    the form an exact append takes), ``end`` (the position after the last line consumed),
    ``skipped`` (unreadable lines passed over), ``at_end`` (nothing complete is left after
    ``end`` for now), ``tail`` (the tail checksum of ``end``), ``crc`` (the CRC-32 of all the
    bytes before ``end``) and ``rewritten`` (the bytes before ``start`` are not those expected:
    the rollout was rewritten or truncated, and nothing was read)."""

    start: int
    end: int
    lines: list[Item] = field(default_factory=list)
    skipped: int = 0
    at_end: bool = True
    tail: int = 0
    crc: int = 0
    rewritten: bool = False


def _lines_of(items: list[Item], stamps: list[str | None]) -> list[Item]:
    return [item if stamp is None else {"timestamp": stamp, **item} for item, stamp in zip(items, stamps, strict=True)]


def logical_size(path: Path) -> int:
    """The size of the rollout's logical content (``OSError`` when it cannot be read)."""
    if not is_compressed(path):
        return os.stat(path).st_size
    import zstandard

    with open(path, "rb") as f:
        head = f.read(18)
        try:
            size = zstandard.frame_content_size(head)
        except zstandard.ZstdError:
            size = -1
        if size >= 0:
            return int(size)
        f.seek(0)
        total = 0
        reader = zstandard.ZstdDecompressor().stream_reader(f)
        while chunk := reader.read(_CHUNK):
            total += len(chunk)
        return total


class _Stream:
    """The logical bytes of a rollout from a position on (decompressing when needed)."""

    def __init__(self, path: Path, start: int) -> None:
        self._file: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._reader: BinaryIO = self._file
        if is_compressed(path):
            import zstandard

            self._reader = zstandard.ZstdDecompressor().stream_reader(self._file)
            skip = start
            while skip > 0:
                got = self._reader.read(min(skip, _CHUNK))
                if not got:
                    break
                skip -= len(got)
        elif start:
            self._file.seek(start)

    def read(self, size: int) -> bytes:
        return self._reader.read(size)

    def close(self) -> None:
        if self._reader is not self._file:
            self._reader.close()
        self._file.close()


def _read_bounded(stream: _Stream, max_bytes: int) -> tuple[bytes, bool]:
    """Up to ``max_bytes`` (more when the first line is longer, up to the item limit) and
    whether the end of the data was reached."""
    data = stream.read(max_bytes)
    if len(data) < max_bytes:
        return data, True
    parts = [data]
    total = len(data)
    while b"\n" not in parts[-1] and total < DEFAULT_MAX_ITEM_BYTES + TAIL_BYTES:
        more = stream.read(_CHUNK)
        if not more:
            return b"".join(parts), True
        parts.append(more)
        total += len(more)
    return b"".join(parts), False


def read_slice(
    path: Path,
    start: int,
    expected_tail: int | None,
    *,
    final: bool,
    crc: int = 0,
    max_bytes: int = MAX_SLICE_BYTES,
) -> Slice:
    """The complete lines of the rollout at ``path`` from ``start`` (a line boundary) on, at
    most about ``max_bytes`` of them (see the module documentation), after checking that the
    bytes before ``start`` still have the tail ``expected_tail`` (None: no check). ``crc`` is
    the CRC-32 of the bytes before ``start`` (carried on into the slice's). ``OSError`` when
    the file cannot be read (a corrupt compressed file included)."""
    begin = max(0, start - TAIL_BYTES)
    stream = _open(path, begin)
    try:
        before = stream.read(start - begin) if start > begin else b""
        if len(before) != start - begin or (expected_tail is not None and zlib.crc32(before) != expected_tail):
            return Slice(start=start, end=start, rewritten=True)
        data, reached_end = _read_bounded(stream, max_bytes)
    except OSError:
        raise
    except Exception as exc:  # a corrupt compressed frame
        raise OSError(f"cannot read {path}: {exc}") from None
    finally:
        stream.close()
    body = data if final and reached_end else data[: data.rfind(b"\n") + 1]
    chunk = parse_chunk(body, start)
    end = chunk.end_offset
    out = Slice(start=start, end=end, lines=_lines_of(chunk.items, chunk.timestamps), skipped=chunk.skipped)
    out.at_end = reached_end
    out.tail = zlib.crc32((before + data[: end - start])[-TAIL_BYTES:])
    out.crc = zlib.crc32(data[: end - start], crc)
    return out


def _open(path: Path, start: int) -> _Stream:
    try:
        return _Stream(path, start)
    except OSError:
        raise
    except Exception as exc:  # zstandard refusing the file before any data
        raise OSError(f"cannot read {path}: {exc}") from None


def read_all(path: Path) -> bytes:
    """The whole logical content (``OSError`` when it cannot be read)."""
    stream = _open(path, 0)
    try:
        parts = []
        while chunk := stream.read(_CHUNK):
            parts.append(chunk)
        return b"".join(parts)
    except OSError:
        raise
    except Exception as exc:
        raise OSError(f"cannot read {path}: {exc}") from None
    finally:
        stream.close()


def prefix_crc(path: Path, length: int) -> int | None:
    """The CRC-32 of the first ``length`` bytes of the rollout; None when it is shorter or
    cannot be read."""
    try:
        stream = _open(path, 0)
    except OSError:
        return None
    crc = 0
    left = length
    try:
        while left > 0:
            chunk = stream.read(min(left, _CHUNK))
            if not chunk:
                return None
            crc = zlib.crc32(chunk, crc)
            left -= len(chunk)
    except Exception:
        return None
    finally:
        stream.close()
    return crc


def tail_of(data: bytes) -> int:
    """The tail checksum of a position, given the bytes that precede it."""
    return zlib.crc32(data[-TAIL_BYTES:])


def numbered_lines(data: bytes, *, final: bool) -> Iterator[tuple[Item, int]]:
    """Each readable line of ``data`` (a whole rollout) with the position after it, in order:
    the lines a store holds of the rollout, and where each ends in the file."""
    position = 0
    length = len(data)
    while position < length:
        newline = data.find(b"\n", position)
        if newline < 0:
            if not final:
                return
            end = length
            raw = data[position:]
        else:
            end = newline + 1
            raw = data[position:end]
        chunk = parse_chunk(raw if raw.endswith(b"\n") else raw + b"\n")
        for line in _lines_of(chunk.items, chunk.timestamps):
            yield line, end
        position = end
