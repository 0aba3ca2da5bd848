"""``bench/mirror.py`` at tiny sizes, so that it cannot rot (no figure is asserted): the lag
of a few lines into a local target, and a catch-up of a few threads."""

from __future__ import annotations

from pathlib import Path

from bench.codex_home import write_home
from bench.mirror import lags, measure_catch_up, measure_lag


def test_the_lag_is_measured_for_every_line(tmp_path: Path) -> None:
    found = measure_lag(f"local:{tmp_path / 'target'}", tmp_path, threads=2, turns=2, lines_per_turn=3)
    assert found["lines"] == 6
    assert found["threads_differing"] == 0
    assert found["clean_stop"]
    assert 0 <= found["median_ms"] <= found["p99_ms"] <= found["max_ms"]


def test_lags_pair_each_line_with_the_append_that_carried_it() -> None:
    written = {"t": [10.0, 10.5, 11.0]}
    events = [
        {"event": "appended", "thread_id": "t", "lines": 2, "at": 11.0},
        {"event": "appended", "thread_id": "u", "lines": 5, "at": 11.0},
        {"event": "appended", "thread_id": "t", "lines": 1, "at": 11.25},
    ]
    assert lags(events, written, started=9.0) == [1.0, 0.5, 0.25]


def test_a_catch_up_is_measured(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_home(home, 5, dataset="smoke")
    found = measure_catch_up(f"local:{tmp_path / 'target'}", home, 5)
    assert found["exit_code"] == 0
    assert found["created"] == 5
    assert found["peak_rss_mb"] > 0
