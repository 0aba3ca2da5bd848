"""What flows through a thread: submissions (ops in) and events (out).

Ops and event messages are plain dicts in the Codex shapes (``{"type": "user_input", ...}``,
``{"type": "task_started", ...}``). Every event carries the id of the submission that caused it;
``session_configured`` (always first) carries ``""``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = ["INITIAL_SUBMIT_ID", "Event", "Submission"]

INITIAL_SUBMIT_ID: Final = ""
"""The submission id of the ``session_configured`` event."""


@dataclass(frozen=True, slots=True)
class Submission:
    """An op submitted to a thread, with the id its events will carry."""

    id: str
    op: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    """An event a thread emits: the causing submission's id and the message."""

    id: str
    msg: dict[str, Any]

    @property
    def type(self) -> str:
        """The message's ``type`` (``"task_started"``, ``"agent_message"`` ...)."""
        kind = self.msg.get("type")
        return kind if isinstance(kind, str) else ""
