"""How a mirror's lines go to the target: in appends of bounded size, each with an
idempotency key that names the source, the line it starts at, how many lines it carries and
their checksum, so that an append sent again (a retry after a lost answer) is stored once."""

from __future__ import annotations

import zlib
from typing import Final

from threadstore import _json
from threadstore._rollout.items import Item

__all__ = ["BATCH_BYTES", "BATCH_LINES", "append_key", "batches"]

#: Lines per append, and bytes (a remote target's requests stay well under its size limit).
BATCH_LINES: Final = 256
BATCH_BYTES: Final = 4 * 1024 * 1024


def append_key(source: str, first_line: int, count: int, digest: int) -> str:
    """The idempotency key of an append of ``count`` lines from line ``first_line`` of the
    source whose checkpoint label key is ``source``, with CRC-32 ``digest``."""
    return f"{source}:{first_line}:{count}:{digest:08x}"


def batches(lines: list[Item]) -> list[tuple[list[Item], int]]:
    """The lines in appends of at most :data:`BATCH_LINES` lines and about
    :data:`BATCH_BYTES`, each with the CRC-32 of its lines (for its idempotency key)."""
    batches: list[tuple[list[Item], int]] = []
    current: list[Item] = []
    size = crc = 0
    for line in lines:
        encoded = _json.dumps(line)
        if current and (len(current) >= BATCH_LINES or size + len(encoded) > BATCH_BYTES):
            batches.append((current, crc))
            current, size, crc = [], 0, 0
        current.append(line)
        size += len(encoded)
        crc = zlib.crc32(encoded, crc)
    if current:
        batches.append((current, crc))
    return batches
