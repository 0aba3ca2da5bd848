"""The names of a Codex home's files, pure (no I/O): where rollouts live, how a rollout file is
named, and which thread a name belongs to.

``sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<id>.jsonl`` holds active rollouts (date and
time in the local time of creation), ``archived_sessions/`` holds archived ones (flat),
``session_index.jsonl`` (at the home's root) holds thread names. Newer Codex builds compress
cold rollouts to ``….jsonl.zst``; such a file stands for the plain ``.jsonl`` of the same name
(its *logical* path).
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Final

from threadstore._compressed import COMPRESSED_SUFFIX, is_compressed
from threadstore._ids import is_thread_id

__all__ = [
    "ARCHIVED_DIR",
    "SESSIONS_DIR",
    "SESSION_INDEX",
    "date_parts",
    "is_rollout_name",
    "logical_path",
    "rollout_file_name",
    "thread_id_from_name",
]

SESSIONS_DIR: Final = "sessions"
ARCHIVED_DIR: Final = "archived_sessions"
SESSION_INDEX: Final = "session_index.jsonl"

_NAME_RE: Final = re.compile(
    r"^rollout-(\d{4})-(\d{2})-(\d{2})T\d{2}-\d{2}-\d{2}-"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl(?:\.zst)?$"
)


def rollout_file_name(created_local: datetime, thread_id: str) -> str:
    """``rollout-YYYY-MM-DDThh-mm-ss-<id>.jsonl`` for a thread created at ``created_local``."""
    return f"rollout-{created_local.strftime('%Y-%m-%dT%H-%M-%S')}-{thread_id}.jsonl"


def logical_path(path: str | os.PathLike[str]) -> str:
    """The plain ``.jsonl`` path a rollout stands for (a compressed one included)."""
    text = os.fspath(path)
    return text[: -len(COMPRESSED_SUFFIX)] if is_compressed(text) else text


def thread_id_from_name(name: str) -> str | None:
    """The thread id a rollout file name carries (its last 36 characters before ``.jsonl``;
    ``.jsonl.zst`` names too)."""
    name = logical_path(name)
    if not name.endswith(".jsonl") or len(name) < 43:
        return None
    candidate = name[-42:-6]
    if name[-43] != "-" or not is_thread_id(candidate):
        return None
    return candidate


def is_rollout_name(name: str) -> bool:
    """Whether ``name`` is a rollout file name Codex writes (``rollout-…-<id>.jsonl[.zst]``)."""
    return name.startswith("rollout-") and thread_id_from_name(name) is not None


def date_parts(name: str) -> tuple[str, str, str] | None:
    """``(YYYY, MM, DD)`` from a ``rollout-YYYY-MM-DDT…`` file name."""
    match = _NAME_RE.match(name)
    return (match.group(1), match.group(2), match.group(3)) if match else None
