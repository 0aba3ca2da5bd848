"""The benchmark's own code, at tiny sizes, so that it cannot rot (no timing is asserted).

Runs our side of a few workloads in-process (no anchors' environment, no Codex), checks that the
generated data sets are what the workloads assume, and that the report and the design's bars are
computed from the rows.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from bench import ours, report, targets
from bench.claude_home import long_session, project_dir, write_sessions
from bench.codex_home import ITEMS_PER_THREAD, thread_ids, write_home
from bench.ours.threads import search_terms

from threadstore import ListThreadsParams, LoadThreadHistoryParams, SearchThreadsParams
from threadstore._backends.local import LocalThreadStore


def _positive(metrics: dict[str, float]) -> None:
    assert metrics
    for name, value in metrics.items():
        assert math.isfinite(value), name
        assert value > 0, name


async def test_generated_codex_home_lists_newest_first_with_the_expected_ids(tmp_path: Path) -> None:
    home = tmp_path / "gen"
    write_home(home, 30, dataset="gen", heavy=True)
    store = LocalThreadStore(home)
    try:
        page = await store.list_threads(ListThreadsParams(page_size=10))
        assert [t.thread_id for t in page.items] == thread_ids(30, dataset="gen")[::-1][:10]
        assert all(t.source == "cli" and t.cli_version == "0.125.0" for t in page.items)
        history = await store.load_history(LoadThreadHistoryParams(page.items[0].thread_id))
        assert len(history.items) == ITEMS_PER_THREAD
        rare, common = search_terms("gen", 30)
        found = await store.search_threads(SearchThreadsParams(rare))
        assert [hit.thread.thread_id for hit in found.items] == [thread_ids(30, dataset="gen")[16]]
        assert len((await store.search_threads(SearchThreadsParams(common))).items) > 1
    finally:
        await store.close()


async def test_our_side_of_the_workloads_runs_at_tiny_sizes(tmp_path: Path) -> None:
    home = str(tmp_path / "homes" / "list-60")
    _positive(await ours.run("append_durable", {"work": str(tmp_path), "count": 5}))
    _positive(await ours.run("append_batch", {"work": str(tmp_path), "batches": 3, "batch_size": 10}))
    prepared = await ours.run("prepare_home", {"home": home, "count": 60, "heavy": False, "index": True})
    assert set(prepared) == {"bytes", "write_s", "index_s"}
    _positive(await ours.run("list", {"home": home, "deep": False}))
    _positive(await ours.run("search", {"home": home, "count": 60}))
    _positive(await ours.run("cold", {"home": home, "count": 60, "runs": 1}))
    _positive(await ours.run("read", {"work": str(tmp_path), "count": 40}))
    _positive(await ours.run("fork", {"work": str(tmp_path), "count": 40}))
    _positive(await ours.run("storage", {"work": str(tmp_path), "count": 40}))
    _positive(await ours.run("pages", {"work": str(tmp_path), "count": 800}))
    _positive(await ours.run("agents_turns", {"work": str(tmp_path), "count": 3}))
    for shape in ("turns", "messages"):
        _positive(await ours.run("agents_tail", {"work": str(tmp_path / shape), "count": 120, "shape": shape}))


def test_claude_sessions_chain_their_entries(tmp_path: Path) -> None:
    folder = write_sessions(tmp_path / "config", tmp_path / "project", 3, dataset="c")
    assert folder == project_dir(tmp_path / "config", tmp_path / "project")
    sessions = sorted(folder.glob("*.jsonl"))
    assert len(sessions) == 3
    entries = [json.loads(line) for line in sessions[0].read_text().splitlines()]
    assert entries[0]["parentUuid"] is None
    assert [e["parentUuid"] for e in entries[1:]] == [e["uuid"] for e in entries[:-1]]
    assert {e["sessionId"] for e in entries} == {sessions[0].stem}
    sid, messages = long_session(tmp_path / "config", tmp_path / "project", 10)
    assert len((folder / f"{sid}.jsonl").read_text().splitlines()) == len(messages) == 10


def test_report_and_bars_come_from_the_rows() -> None:
    rows = [
        report.Row("append.durable", "durable", "appends/s", 800.0, 1000.0, {"openai": 400.0}),
        report.Row("append.fast", "fast", "appends/s", 9000.0, None, {"openai": 1000.0}),
        report.Row("list.1000.warm", "page", "ms", 3.0, None, {"claude": 60.0}),
    ]
    table = report.text_table(rows)
    assert "800" in table
    assert "0.8x" in table
    assert "2x" in table
    bars = {b.bar: b for b in targets.judge(rows)}
    assert bars["durable single append ≥ 70% of raw append+fsync"].met is True
    assert bars["fsync=False single append ≥ 10x SQLiteSession"].met is False
    assert bars["page of 50 at 100,000 threads under 5 ms"].met is None
    assert bars["fork of a 10k-item thread under 20 ms"].met is None
