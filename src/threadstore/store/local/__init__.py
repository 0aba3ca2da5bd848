"""The local backend: threads as Codex-compatible rollout files plus a SQLite index.

Modules, one job each: :mod:`.store` (the operations), :mod:`.catalog` (keeps the index true to
the files), :mod:`.index` (every SQL statement), :mod:`.writer` (live writers),
:mod:`.rollout` (the line format, compressed rollouts, forks by reference), :mod:`.search`,
:mod:`.metadata` and :mod:`.moves` (search, updates, archive and delete), :mod:`.layout`
(paths), :mod:`.names` (``session_index.jsonl``), :mod:`.lock` (writer locks), :mod:`.files`
(file-system primitives).
"""

from .catalog import ReindexReport
from .store import LocalThreadStore

__all__ = ["LocalThreadStore", "ReindexReport"]
