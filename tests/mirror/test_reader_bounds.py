"""The mirror reads compressed rollouts within the limits every reader keeps: a compression bomb
in a Codex home is refused as unreadable (``OSError``, which the mirror retries a few times and
then reports) after a bounded amount of decompression, whatever it claims to hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from threadstore._mirror.reader import logical_size, prefix_crc, read_all, read_slice

from ..local.test_bombs import _bomb

#: What reading a bomb may add to this process's peak memory (it stands for 1 GiB).
PEAK_GROWTH_KIB = 256 * 1024


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field}")


def _reset_peak() -> int:
    """Start measuring this process's peak memory afresh; its resident memory now."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS")


def test_a_bomb_is_refused_as_unreadable(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "rollout-2026-01-01T00-00-00-01a211bf-81da-7c20-8000-00000000b0b0.jsonl.zst")
    before = _reset_peak()
    with pytest.raises(OSError, match="once decompressed"):
        read_all(bomb)
    with pytest.raises(OSError, match="once decompressed"):
        logical_size(bomb)
    with pytest.raises(OSError, match="once decompressed"):
        read_slice(bomb, 512 * 1024 * 1024, None, final=True)  # far into it: no endless re-reading
    assert prefix_crc(bomb, 900 * 1024 * 1024) is None
    first = read_slice(bomb, 0, None, final=False)  # what lies within the limit reads as ever
    assert first.lines[0]["type"] == "session_meta"
    assert _status_kib("VmHWM") - before < PEAK_GROWTH_KIB
