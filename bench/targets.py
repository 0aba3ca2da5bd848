"""The performance bars of the design (listed in BENCHMARKS.md), judged on one run's rows.

Each bar is a ratio or a time computed from the rows of the same run (the hardware and the
anchors measured beside ours); a bar whose rows were not measured (``--only``, ``--quick`` sizes,
``--no-anchors``) is reported as not measured rather than guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from .report import Row

__all__ = ["Bar", "judge", "text"]


@dataclass(frozen=True)
class Bar:
    bar: str
    measured: str
    met: bool | None
    """None: not measured in this run."""


class _Rows:
    def __init__(self, rows: list[Row]) -> None:
        self.by_key = {r.key: r for r in rows}

    def row(self, key: str) -> Row:
        return self.by_key[key]

    def largest(self, prefix: str, suffix: str) -> Row:
        """The row of the largest thread count among ``prefix<count>suffix`` keys."""
        found = [r for k, r in self.by_key.items() if k.startswith(prefix) and k.endswith(suffix)]
        return max(found, key=lambda r: int(r.key.split(".")[1]))

    def smallest(self, prefix: str, suffix: str) -> Row:
        found = [r for k, r in self.by_key.items() if k.startswith(prefix) and k.endswith(suffix)]
        return min(found, key=lambda r: int(r.key.split(".")[1]))


class _TooSmall(Exception):
    """The run's sizes are below the bar's (``--quick``)."""


def _at_least(row: Row, count: int) -> None:
    if int(row.key.split(".")[1]) < count:
        raise _TooSmall


def _durable(r: _Rows) -> Bar:
    row = r.row("append.durable")
    assert row.hardware is not None
    ratio = row.ours / row.hardware
    return Bar("durable single append ≥ 70% of raw append+fsync", f"{ratio:.0%} of raw", ratio >= 0.7)


def _fast(r: _Rows) -> Bar:
    row = r.row("append.fast")
    ratio = row.ours / row.anchors["openai"]
    return Bar("fsync=False single append ≥ 10x SQLiteSession", f"{ratio:.1f}x", ratio >= 10)


def _batch(r: _Rows) -> Bar:
    row = r.row("append.batch.bandwidth")
    assert row.hardware is not None
    slower = row.hardware / row.ours
    return Bar("batched appends within 3x of raw append bandwidth", f"raw is {slower:.1f}x ours", slower <= 3)


def _page(r: _Rows) -> Bar:
    row = r.largest("list.", ".warm")
    _at_least(row, 100_000)
    return Bar("page of 50 at 100,000 threads under 5 ms", f"{row.ours:.2f} ms", row.ours < 5)


def _flat(r: _Rows) -> Bar:
    small, large = r.smallest("list.", ".warm"), r.largest("list.", ".warm")
    deep = r.row(large.key.replace(".warm", ".page100"))
    growth = large.ours / small.ours
    depth = deep.ours / large.ours
    text = f"{large.key.split('.')[1]} vs {small.key.split('.')[1]} threads: {growth:.2f}x; page 100 vs 1: {depth:.2f}x"
    return Bar("page time independent of thread count (≤ 1.5x) and of depth", text, growth <= 1.5 and depth <= 1.5)


def _claude(r: _Rows) -> Bar:
    ours = r.largest("list.", ".warm")
    _at_least(ours, 100_000)
    claude_1k = r.row("list.1000.warm").anchors["claude"]
    faster = claude_1k / ours.ours
    return Bar(
        "page at 100,000 threads ≥ 50x faster than Claude list_sessions at 1,000",
        f"{faster:,.0f}x",
        faster >= 50,
    )


def _warm_codex(r: _Rows) -> Bar:
    row = r.largest("cold.", ".warm")
    ratio = row.ours / row.anchors["codex"]
    return Bar("warm page on a Codex home ≤ 0.1x Codex 0.125.0 thread/list", f"{ratio:.2f}x", ratio <= 0.1)


def _cold_codex(r: _Rows) -> Bar:
    row = r.largest("cold.", ".first")
    ratio = row.ours / row.anchors["codex"]
    return Bar("first page on a never-indexed home ≤ Codex's first thread/list", f"{ratio:.1f}x Codex", ratio <= 1)


def _full_index(r: _Rows) -> Bar:
    row = r.largest("cold.", ".full_index")
    _at_least(row, 20_000)
    complete = r.by_key.get(row.key.replace(".full_index", ".complete"))
    also = f" (trigram index built at {complete.ours:.1f} s)" if complete is not None else ""
    return Bar("full index of a 20,000-thread home under 2 s", f"{row.ours:.1f} s{also}", row.ours < 2)


def _read(key: str, what: str) -> Callable[[_Rows], Bar]:
    def judge_one(r: _Rows) -> Bar:
        row = r.largest("read.", key)
        _at_least(row, 10_000)
        ratio = row.ours / row.anchors["openai"]
        return Bar(f"{what} a 10k-item thread ≤ 0.5x SQLiteSession.get_items()", f"{ratio:.2f}x", ratio <= 0.5)

    return judge_one


def _fork(r: _Rows) -> Bar:
    row = r.largest("fork.", "")
    _at_least(row, 10_000)
    return Bar("fork of a 10k-item thread under 20 ms", f"{row.ours:.1f} ms", row.ours < 20)


def _search(r: _Rows) -> Bar:
    rare, common = r.largest("search.", ".rare"), r.largest("search.", ".common")
    _at_least(rare, 10_000)
    worst = max(rare.ours, common.ours)
    return Bar("full-text search over 10k threads under 50 ms", f"{worst:.1f} ms (slower of rare/common)", worst < 50)


def _storage(r: _Rows) -> Bar:
    row = r.largest("storage.", ".long")
    _at_least(row, 10_000)
    return Bar("storage within 1.5x of the items' JSON (with the index)", f"{row.ours:.2f}x", row.ours <= 1.5)


def _remote(r: _Rows) -> Bar:
    """A report, not a threshold: the bars ask for these figures beside the local ones."""
    name = "PostgreSQL and remote backends reported: 16 concurrent writers, one append round trip"
    try:
        trip, many, local = r.row("remote.round_trip"), r.row("remote.writers"), r.row("remote.local_writers")
    except KeyError:
        return Bar(name, "not measured in this run", None)
    text = f"remote: {trip.ours:.2f} ms a round trip, {many.ours:,.0f} items/s with 16 writers (local {local.ours:,.0f}); PostgreSQL: no backend yet"
    return Bar(name, text, None)


def _agents_tail(r: _Rows) -> Bar:
    row = r.largest("agents.", ".tail")
    _at_least(row, 10_000)
    ratio = row.ours / row.anchors["openai"]
    name = "get_items(limit=50) at 10k items ≤ SQLiteSession's"
    return Bar(name, f"{row.ours:.2f} ms, {ratio:.2f}x SQLiteSession", ratio <= 1)


_BARS: list[tuple[str, Callable[[_Rows], Bar]]] = [
    ("durable single append ≥ 70% of raw append+fsync", _durable),
    ("fsync=False single append ≥ 10x SQLiteSession", _fast),
    ("batched appends within 3x of raw append bandwidth", _batch),
    ("page of 50 at 100,000 threads under 5 ms", _page),
    ("page time independent of thread count and depth", _flat),
    ("page ≥ 50x faster than Claude list_sessions at 1,000", _claude),
    ("warm page on a Codex home ≤ 0.1x Codex 0.125.0", _warm_codex),
    ("first page on a never-indexed home ≤ Codex's first", _cold_codex),
    ("full index of a 20,000-thread home under 2 s", _full_index),
    ("read a 10k-item thread ≤ 0.5x SQLiteSession.get_items()", _read(".load", "read")),
    ("resume a 10k-item thread ≤ 0.5x SQLiteSession.get_items()", _read(".resume", "resume")),
    ("fork of a 10k-item thread under 20 ms", _fork),
    ("full-text search over 10k threads under 50 ms", _search),
    ("storage within 1.5x of the items' JSON", _storage),
    ("get_items(limit=50) at 10k items ≤ SQLiteSession's", _agents_tail),
]


def judge(rows: list[Row]) -> list[Bar]:
    """Every bar that a local-store run can judge, met or not (or not measured)."""
    found = _Rows(rows)
    out = []
    for name, check in _BARS:
        try:
            out.append(check(found))
        except _TooSmall:
            out.append(Bar(name, "not measured at this size (--quick)", None))
        except (KeyError, ValueError, AssertionError, ZeroDivisionError):
            out.append(Bar(name, "not measured in this run", None))
    out.append(_remote(found))
    return out


def text(bars: list[Bar]) -> str:
    marks = {True: "met", False: "NOT MET", None: "—"}
    width = max(len(b.bar) for b in bars)
    return "\n".join(f"{marks[b.met]:>7}  {b.bar:<{width}}  {b.measured}" for b in bars)


def as_json(bars: list[Bar]) -> list[dict[str, Any]]:
    return [asdict(b) for b in bars]
