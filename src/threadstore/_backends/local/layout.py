"""Where things live in a Codex-compatible home directory.

``sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<id>.jsonl`` holds active rollouts (date and
time in local time at creation), ``archived_sessions/`` holds archived ones (flat),
``session_index.jsonl`` holds thread names. Our own files (the SQLite index and the writer locks)
live under ``.threadstore/``; Codex's own ``state_*.sqlite`` is never touched.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Final

from threadstore._compressed import COMPRESSED_SUFFIX, is_compressed
from threadstore._rollout.files import date_parts, logical_path, rollout_file_name, thread_id_from_name
from threadstore.errors import InvalidRequest

__all__ = [
    "COMPRESSED_SUFFIX",
    "Layout",
    "date_parts",
    "is_compressed",
    "logical_path",
    "rollout_file_name",
    "thread_id_from_name",
]

_ARCHIVED_PART: Final = f"{os.sep}archived_sessions{os.sep}"


class Layout:
    """Paths of one home directory."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.sessions = home / "sessions"
        self.archived = home / "archived_sessions"
        self.session_index = home / "session_index.jsonl"
        self.private = home / ".threadstore"
        self.index_db = self.private / "index.sqlite3"
        self.locks = self.private / "locks"
        self._archived_prefix = str(self.archived) + os.sep

    def new_rollout_path(self, created_local: datetime, thread_id: str) -> Path:
        day = self.sessions / created_local.strftime("%Y") / created_local.strftime("%m") / created_local.strftime("%d")
        return day / rollout_file_name(created_local, thread_id)

    def is_archived(self, path: Path | str) -> bool:
        """Archived when under ``archived_sessions`` (of this home, or any directory so named)."""
        text = os.fspath(path)
        return text.startswith(self._archived_prefix) or _ARCHIVED_PART in text

    def resolve(self, path: str | Path) -> Path:
        """An absolute path: relative ones are taken from the home."""
        p = Path(path)
        return p if p.is_absolute() else self.home / p

    def scoped(self, path: Path, root: Path, root_name: str) -> Path:
        """``path`` canonicalized, required to lie under ``root``."""
        real = Path(os.path.realpath(path))
        real_root = Path(os.path.realpath(root))
        try:
            real.relative_to(real_root)
        except ValueError:
            raise InvalidRequest(f"rollout path `{path}` must be in {root_name} directory") from None
        return real
