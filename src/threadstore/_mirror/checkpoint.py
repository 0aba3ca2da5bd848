"""What a mirror keeps in the target about each thread: labels on the thread itself.

``host``
    The machine the thread came from (``--host-label``), set when the mirror creates the thread
    in the target and never changed afterwards (a thread checked out on another machine and
    continued there keeps it).
``mirror.<host>.<home>``
    One per source that mirrors the thread (a host and a home on it): how far that source's
    rollout was mirrored, as ``lines=N bytes=B tail=T crc=C file=I:M`` — the target holds the
    first ``N`` lines of the rollout, which end at byte ``B`` of it; the CRC-32 of the (up to
    4 KiB of) bytes before ``B`` is ``T`` and that of all of them ``C`` (see :mod:`.reader`);
    when they were read the file was inode ``I``, last written at ``M`` (nanoseconds). A source
    writes ``open`` after it before it appends more lines, and the exact position again once
    they are durable: a checkpoint found ``open`` (a mirror that stopped without finishing) may
    be behind the target, which is then read to find where it stands.

Because the state lives with the thread in the target, a mirror on a new machine, or on a home
restored from a backup, carries on from the target's own account, and it goes with the thread
when the thread is deleted.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["HOST_LABEL", "Checkpoint", "checkpoints", "source_key"]

HOST_LABEL: Final = "host"
_PREFIX: Final = "mirror."
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_-]+")
_VALUE: Final = re.compile(r"^lines=(\d+) bytes=(\d+) tail=([0-9a-f]{8}) crc=([0-9a-f]{8}) file=(\d+):(\d+)( open)?$")


def source_key(host: str, home: Path) -> str:
    """The label key of one source: its host label (letters, digits, ``_`` and ``-``, at most
    60 of them) and a checksum of its home's absolute path."""
    safe = _UNSAFE.sub("-", host).strip("-")[:60] or "host"
    return f"{_PREFIX}{safe}.{zlib.crc32(str(home).encode()):08x}"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far one source's rollout is in the target (see the module documentation)."""

    lines: int
    offset: int
    tail: int
    crc: int = 0
    inode: int = 0
    written: int = 0
    open: bool = False

    def encode(self) -> str:
        text = (
            f"lines={self.lines} bytes={self.offset} tail={self.tail:08x} crc={self.crc:08x} "
            f"file={self.inode}:{self.written}"
        )
        return text + " open" if self.open else text

    @classmethod
    def decode(cls, text: object) -> Checkpoint | None:
        """The checkpoint a label value holds; None when it is not one."""
        match = _VALUE.match(text) if isinstance(text, str) else None
        if match is None:
            return None
        lines, offset, tail, crc, inode, written, opened = match.groups()
        return cls(int(lines), int(offset), int(tail, 16), int(crc, 16), int(inode), int(written), opened is not None)

    def opened(self) -> Checkpoint:
        return dataclasses.replace(self, open=True)


def checkpoints(labels: Mapping[str, str]) -> dict[str, Checkpoint]:
    """Every source's checkpoint among a thread's labels, by label key."""
    found: dict[str, Checkpoint] = {}
    for key, value in labels.items():
        if key.startswith(_PREFIX):
            checkpoint = Checkpoint.decode(value)
            if checkpoint is not None:
                found[key] = checkpoint
    return found
