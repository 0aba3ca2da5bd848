"""Memory mode and git facts that newer Codex builds keep only in their state database.

Codex of the 0.169 era and later (threads with paginated history) writes no line when a
thread's memory mode or git facts change: they live in the ``threads`` table of
``state_<N>.sqlite`` in the home (``memory_mode``, ``git_sha``, ``git_branch``,
``git_origin_url``). A mirror reads them from there, read-only, and never writes that file.
Older builds record both in the rollout (a ``session_meta`` amendment), where an exact copy
carries them anyway.

Reading is best effort: a database that is missing, locked, of an unknown shape or being
rewritten gives no facts this time (the next change tries again).
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from threadstore._contract.thread import GitInfo

__all__ = ["StateFacts", "read_state_facts", "state_database"]

_log: Final = logging.getLogger("threadstore.mirror")
_NAME: Final = re.compile(r"^state_(\d+)\.sqlite$")


@dataclass(frozen=True, slots=True)
class StateFacts:
    """One thread's facts by Codex's state database (None: the database says nothing)."""

    memory_mode: str | None
    git_info: GitInfo | None


def state_database(home: Path) -> Path | None:
    """The newest ``state_<N>.sqlite`` of the home, if any."""
    best: tuple[int, Path] | None = None
    with contextlib.suppress(OSError):
        for entry in home.iterdir():
            match = _NAME.match(entry.name)
            if match and (best is None or int(match.group(1)) > best[0]):
                best = (int(match.group(1)), entry)
    return best[1] if best else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def read_state_facts(home: Path) -> dict[str, StateFacts]:
    """Every thread's facts by the home's state database (empty when there is none or it
    cannot be read)."""
    path = state_database(home)
    if path is None:
        return {}
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.2)
    except sqlite3.Error as exc:
        _log.debug("cannot open %s: %s", path, exc)
        return {}
    try:
        rows = connection.execute("SELECT id, memory_mode, git_sha, git_branch, git_origin_url FROM threads").fetchall()
    except sqlite3.Error as exc:
        _log.debug("cannot read %s: %s", path, exc)
        return {}
    finally:
        connection.close()
    facts: dict[str, StateFacts] = {}
    for thread_id, memory, sha, branch, origin in rows:
        if not isinstance(thread_id, str):
            continue
        git = GitInfo(_text(sha), _text(branch), _text(origin))
        mode = memory if memory in ("enabled", "disabled") else None
        facts[thread_id.lower()] = StateFacts(mode, None if git == GitInfo() else git)
    return facts
