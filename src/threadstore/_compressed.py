"""Reading rollout files, plain or zstd-compressed (``….jsonl.zst``, as newer Codex builds write
them), within limits that hold whatever a file holds.

The limits (the same for both kinds; a compressed file is measured by what it decompresses to):

* a rollout read whole (a history, an export, an import) is at most :data:`MAX_ROLLOUT_BYTES`;
* one line is at most :data:`MAX_LINE_BYTES`: a longer one is not read whole (readers skip it
  and count it, like any line that does not parse);
* a compressed rollout is decompressed at most to :func:`decompressed_limit` of its size
  (:data:`MAX_ROLLOUT_BYTES`, and no more than :data:`MAX_EXPANSION` times its own size, or
  :data:`MAX_LINE_BYTES` for a small file), read or indexed: a compression bomb costs what
  that much decompression costs, not what it claims.

Going over a limit raises ``ResourceExhausted`` naming the file and the limit.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

from threadstore.errors import Internal, InvalidRequest, ResourceExhausted

__all__ = [
    "COMPRESSED_SUFFIX",
    "MAX_EXPANSION",
    "MAX_LINE_BYTES",
    "MAX_ROLLOUT_BYTES",
    "decompress",
    "decompressed_chunks",
    "decompressed_limit",
    "is_compressed",
    "read_file",
]

COMPRESSED_SUFFIX: Final = ".zst"

#: The most a rollout read whole may hold (decompressed), 1 GiB.
MAX_ROLLOUT_BYTES: Final = 1 << 30
#: The longest line read whole, 64 MiB (a ``session_meta`` carries base instructions, which may
#: be several megabytes; an item is at most 16 MiB).
MAX_LINE_BYTES: Final = 64 << 20
#: How many times its own size a compressed rollout may stand for (JSONL compresses about tenfold).
MAX_EXPANSION: Final = 256

_CHUNK: Final = 4 << 20


def is_compressed(path: str | os.PathLike[str]) -> bool:
    """Whether a rollout is zstd-compressed (``….jsonl.zst``)."""
    return os.fspath(path).endswith(".jsonl" + COMPRESSED_SUFFIX)


def decompressed_limit(compressed_size: int) -> int:
    """The most a compressed rollout of ``compressed_size`` bytes is decompressed to."""
    return min(MAX_ROLLOUT_BYTES, max(MAX_LINE_BYTES, compressed_size * MAX_EXPANSION))


def _too_large(path: Path | str, limit: int) -> ResourceExhausted:
    return ResourceExhausted(f"rollout {path} holds more than {limit} bytes once decompressed: refused")


def decompressed_chunks(f: IO[bytes], path: Path | str, chunk: int = _CHUNK, offset: int = 0) -> Iterator[bytes]:
    """The decompressed bytes of the open compressed rollout ``f`` from ``offset`` on (what lies
    before is decompressed and dropped), at most ``chunk`` bytes at a time. Raises
    ``ResourceExhausted`` once they pass :func:`decompressed_limit` (before yielding the bytes
    beyond it) and ``Internal`` for data that is not zstd."""
    import zstandard

    limit = decompressed_limit(os.fstat(f.fileno()).st_size)
    total = 0
    reader = zstandard.ZstdDecompressor().stream_reader(f, closefd=False)
    with reader:
        try:
            while data := reader.read(min(chunk, limit - total + 1)):
                total += len(data)
                if total > limit:
                    raise _too_large(path, limit)
                if offset >= len(data):
                    offset -= len(data)
                    continue
                yield data[offset:] if offset else data
                offset = 0
        except zstandard.ZstdError as exc:
            raise Internal(f"rollout {path} is not valid zstd data: {exc}") from None


def decompress(path: Path) -> bytes:
    """The content of a zstd-compressed file (within :func:`decompressed_limit`). Raises
    ``OSError`` for I/O problems, ``ResourceExhausted`` over the limit and ``Internal`` for data
    that is not zstd."""
    with open(path, "rb") as f:
        return b"".join(decompressed_chunks(f, path))


def read_file(path: Path, offset: int = 0) -> bytes:
    """The bytes of a rollout (decompressed when it is compressed) from ``offset`` on.

    Raises ``InvalidRequest`` when the path is not a readable file, ``ResourceExhausted`` for a
    rollout over the limits, ``Internal`` on other I/O errors and for compressed data that is
    not zstd."""
    try:
        if is_compressed(path):
            return decompress(path)[offset:]
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_ROLLOUT_BYTES:
                raise ResourceExhausted(f"rollout {path} holds more than {MAX_ROLLOUT_BYTES} bytes: refused")
            if offset:
                f.seek(offset)
            return f.read()
    except FileNotFoundError:
        raise InvalidRequest(f"failed to resolve rollout path `{path}`: file does not exist") from None
    except IsADirectoryError:
        raise InvalidRequest(f"failed to resolve rollout path `{path}`: path is a directory") from None
    except OSError as exc:
        raise Internal(f"failed to read rollout {path}: {exc}") from None
