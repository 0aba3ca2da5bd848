"""``session_index.jsonl``, the name index of a Codex home, pure (no I/O).

Each line is ``{"id", "thread_name", "updated_at"}``; for each id the newest (last) entry wins,
and an empty name means the name was cleared. A line that does not parse is skipped.
"""

from __future__ import annotations

from typing import Final

from threadstore import _json
from threadstore._rollout.jsonl import loads_line

__all__ = ["complete_part", "name_entry", "parse_names"]

_NEWLINE: Final = b"\n"


def complete_part(data: bytes) -> bytes:
    """The complete (newline-terminated) lines at the start of ``data``; a torn or still
    growing last line is left for later."""
    return data[: data.rfind(_NEWLINE) + 1]


def parse_names(data: bytes) -> dict[str, str]:
    """The names the lines of ``data`` give, id -> latest name (stripped; "" = cleared), in
    the order the ids were last named."""
    names: dict[str, str] = {}
    for raw in data.split(_NEWLINE):
        raw = raw.strip(b"\x00").strip()
        if not raw:
            continue
        try:
            entry = loads_line(raw)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            name = entry.get("thread_name")
            names.pop(entry["id"], None)
            names[entry["id"]] = name.strip() if isinstance(name, str) else ""
    return names


def name_entry(thread_id: str, name: str | None, updated_at: str) -> bytes:
    """One ``\\n``-terminated entry naming ``thread_id`` (None or "" clears its name)."""
    return _json.dumps({"id": thread_id, "thread_name": name or "", "updated_at": updated_at}) + _NEWLINE
