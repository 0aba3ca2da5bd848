"""Which metadata a thread of the target should get beside its lines (pure: no I/O).

* For threads with paginated history (the 0.169 era), whose renames, memory mode and git facts
  write no line: the name ``session_index.jsonl`` gives, and the memory mode and git facts of
  Codex's state database. Older threads record every such change in the rollout (a rename also
  as a ``thread_name_updated`` line), which the exact copy carries already; setting them again
  would make the target write lines the rollout lacks.
* For a thread that came from another machine (checked out into this home): this home's state
  database knows only what it saw itself, so only the changes it sees after its first look
  carry over.
* The ``host`` label, when the thread has none; this source's exact checkpoint, once the thread's
  writer is closed (its lines durable) and the checkpoint differs from the one saved.
"""

from __future__ import annotations

from typing import Any

from threadstore._contract.patch import GitInfoPatch, ThreadMetadataPatch
from threadstore._mirror.checkpoint import HOST_LABEL, Checkpoint
from threadstore._mirror.codex_state import StateFacts
from threadstore._mirror.track import Facts, Track

__all__ = ["Wanted", "wanted"]


class Wanted:
    """The patch to send (None: nothing), the user-visible fields it sets (for the report) and
    the checkpoint it writes (None: none)."""

    def __init__(self, patch: ThreadMetadataPatch | None, fields: list[str], checkpoint: Checkpoint | None) -> None:
        self.patch = patch
        self.fields = fields
        self.checkpoint = checkpoint


def wanted(track: Track, facts: Facts, *, name: str | None, state: StateFacts | None, host: str, key: str) -> Wanted:
    """What to set (see the module documentation). ``name`` is the home's name of the thread
    (None: it names nothing; "": cleared), ``state`` the state database's facts of it."""
    fields: dict[str, Any] = {}
    if not facts.paginated:
        name = state = None
    if name is not None and facts.name != (name or None):
        fields["name"] = name or None
    if state is not None and facts.labels.get(HOST_LABEL, host) != host:
        before, track.state_seen = track.state_seen, state
        if before is None or before == state:
            state = None  # seen for the first time (what the home knew), or unchanged
    if state is not None and state.memory_mode is not None and state.memory_mode != facts.memory_mode:
        fields["memory_mode"] = state.memory_mode
    if state is not None and state.git_info is not None and state.git_info != facts.git_info:
        fields["git_info"] = GitInfoPatch.of(state.git_info)
    changed = sorted(fields)
    labels: dict[str, str] = {}
    if HOST_LABEL not in facts.labels:
        labels[HOST_LABEL] = host
    checkpoint: Checkpoint | None = track.checkpoint()
    if not track.writer and track.position == "known" and track.saved != checkpoint:
        assert checkpoint is not None
        labels[key] = checkpoint.encode()
    else:
        checkpoint = None
    if labels:
        fields["labels"] = labels
    return Wanted(ThreadMetadataPatch(**fields) if fields else None, changed, checkpoint)
