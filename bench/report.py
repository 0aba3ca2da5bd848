"""Result rows and the tables printed from them (plain text, and Markdown for BENCHMARKS.md).

A row is one measure of one workload: ours, the physical baseline measured in the same run
(``hardware``, when there is one) and each anchor's value for the same operation on the same
data. Every ratio is ours ÷ theirs for the same quantity: for a time (ms, s) below 1 means we
are faster; for a rate (/s, MB/s) above 1 means we are faster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

__all__ = ["ANCHORS", "Row", "markdown_tables", "memory_table", "rows_from_json", "text_table"]

ANCHORS: Final = ("openai", "langgraph", "claude", "codex")
"""Column order: OpenAI Agents ``SQLiteSession``, LangGraph ``SqliteSaver``, Claude Agent SDK
sessions, Codex 0.125.0."""


@dataclass
class Row:
    key: str
    """Stable name, e.g. ``list.10000.warm``."""
    measure: str
    unit: str
    ours: float
    hardware: float | None = None
    anchors: dict[str, float] = field(default_factory=dict)

    @property
    def higher_is_better(self) -> bool:
        return self.unit.endswith("/s")

    def ratio(self, other: float | None) -> float | None:
        if other is None or other == 0:
            return None
        return self.ours / other


def rows_from_json(data: list[dict[str, Any]]) -> list[Row]:
    return [Row(**row) for row in data]


def _num(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _ratio(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.2g}x" if value < 10 else f"{value:,.0f}x"


def _cell(row: Row, other: float | None) -> str:
    if other is None:
        return "—"
    return f"{_num(other)} ({_ratio(row.ratio(other))})"


def _columns(row: Row) -> list[str]:
    hardware = "—" if row.hardware is None else f"{_num(row.hardware)} ({_ratio(row.ratio(row.hardware))})"
    return [row.measure, row.unit, _num(row.ours), hardware, *(_cell(row, row.anchors.get(a)) for a in ANCHORS)]


_HEADER: Final = ["measure", "unit", "ours", "hardware (ours÷)", *(f"{a} (ours÷)" for a in ANCHORS)]


def text_table(rows: list[Row]) -> str:
    """A fixed-width table for the terminal."""
    body = [_HEADER, *(_columns(r) for r in rows)]
    widths = [max(len(line[i]) for line in body) for i in range(len(_HEADER))]
    out = []
    for n, line in enumerate(body):
        out.append("  ".join(cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(line)))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def markdown_tables(rows: list[Row]) -> str:
    """The same table in Markdown."""
    out = ["| " + " | ".join(_HEADER) + " |", "|" + "---|" * len(_HEADER)]
    out += ["| " + " | ".join(_columns(r)) + " |" for r in rows]
    return "\n".join(out)


def memory_table(memory: dict[str, dict[str, float]], markdown: bool = False) -> str:
    """Peak resident memory (MiB) of the measuring process, per workload and per library."""
    who = ["ours", *ANCHORS]
    lines = [["workload", *who]]
    for workload, values in memory.items():
        lines.append([workload, *(f"{values[w]:.0f}" if w in values else "—" for w in who)])
    if markdown:
        out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(who) + "---|"]
        return "\n".join(out + ["| " + " | ".join(line) + " |" for line in lines[1:]])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join(
        "  ".join(c.rjust(widths[i]) if i else c.ljust(widths[i]) for i, c in enumerate(line)) for line in lines
    )


def as_json(rows: list[Row]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]
