"""Reading files that may be zstd-compressed (``….jsonl.zst``, as newer Codex builds write
rollouts): the bytes they hold, decompressed, with the errors of the store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from threadstore.errors import Internal, InvalidRequest

__all__ = ["COMPRESSED_SUFFIX", "decompress", "is_compressed", "read_file"]

COMPRESSED_SUFFIX: Final = ".zst"


def is_compressed(path: str | os.PathLike[str]) -> bool:
    """Whether a rollout is zstd-compressed (``….jsonl.zst``)."""
    return os.fspath(path).endswith(".jsonl" + COMPRESSED_SUFFIX)


def decompress(path: Path) -> bytes:
    """The content of a zstd-compressed file. Raises ``OSError`` for I/O problems and
    ``Internal`` for data that is not zstd."""
    import zstandard

    with open(path, "rb") as f:
        try:
            return zstandard.ZstdDecompressor().stream_reader(f).read()
        except zstandard.ZstdError as exc:
            raise Internal(f"rollout {path} is not valid zstd data: {exc}") from None


def read_file(path: Path, offset: int = 0) -> bytes:
    """The bytes of a rollout (decompressed when it is compressed) from ``offset`` on.

    Raises ``InvalidRequest`` when the path is not a readable file, ``Internal`` on other I/O
    errors and for compressed data that is not zstd."""
    try:
        if is_compressed(path):
            return decompress(path)[offset:]
        with open(path, "rb") as f:
            if offset:
                f.seek(offset)
            return f.read()
    except FileNotFoundError:
        raise InvalidRequest(f"failed to resolve rollout path `{path}`: file does not exist") from None
    except IsADirectoryError:
        raise InvalidRequest(f"failed to resolve rollout path `{path}`: path is a directory") from None
    except OSError as exc:
        raise Internal(f"failed to read rollout {path}: {exc}") from None
