"""The mirror reads compressed rollouts within the limits every reader keeps: a compression bomb
in a Codex home is refused as unreadable (``OSError``, which the mirror retries a few times and
then reports) after a bounded amount of decompression, whatever it claims to hold."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from threadstore._mirror.reader import logical_size, prefix_crc, read_all, read_slice

from ..local.test_bombs import _bomb

#: What reading a bomb may add to this process's peak memory (it stands for 1 GiB).
PEAK_GROWTH_KIB = 256 * 1024


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_a_bomb_is_refused_as_unreadable(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "rollout-2026-01-01T00-00-00-01a211bf-81da-7c20-8000-00000000b0b0.jsonl.zst")
    before = _peak_kib()
    with pytest.raises(OSError, match="once decompressed"):
        read_all(bomb)
    with pytest.raises(OSError, match="once decompressed"):
        logical_size(bomb)
    with pytest.raises(OSError, match="once decompressed"):
        read_slice(bomb, 512 * 1024 * 1024, None, final=True)  # far into it: no endless re-reading
    assert prefix_crc(bomb, 900 * 1024 * 1024) is None
    first = read_slice(bomb, 0, None, final=False)  # what lies within the limit reads as ever
    assert first.lines[0]["type"] == "session_meta"
    assert _peak_kib() - before < PEAK_GROWTH_KIB
