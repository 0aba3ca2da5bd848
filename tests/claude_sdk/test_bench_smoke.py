"""The Claude session-store benchmark's own code at a tiny size (no timing is asserted)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from bench import ours
from bench.claude_home import mirrored_turn


def test_mirrored_turns_chain_and_carry_uuids() -> None:
    # Read as the JSON objects they are (the SDK's entry type names only a few keys).
    first: list[Mapping[str, object]] = [*mirrored_turn("s", "/srv/p", 0)]
    second: list[Mapping[str, object]] = [*mirrored_turn("s", "/srv/p", 1)]
    assert len(first) == len(second) == 10
    chained = [e for e in second if "parentUuid" in e]
    assert chained[0]["parentUuid"] == [e for e in first if "parentUuid" in e][-1]["uuid"]
    assert len({e["uuid"] for e in first + second if "uuid" in e}) == 14


async def test_our_claude_store_workload_runs(tmp_path: Path) -> None:
    metrics = await ours.run("claude_store", {"work": str(tmp_path), "turns": 3})
    assert set(metrics) == {
        "append_ms", "first_append_ms", "load_ms", "memory_append_ms", "memory_first_append_ms", "memory_load_ms"
    }
    assert all(math.isfinite(v) and v > 0 for v in metrics.values())
