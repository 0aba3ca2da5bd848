"""What a turn is once rebuilt from a thread's records: :class:`StoredTurn` and why one failed,
:class:`StoredTurnError`. The turn builder (:mod:`.turns`) makes them; the contract's paginated
reads (``list_turns``) return them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["StoredTurn", "StoredTurnError", "TurnItemsView", "TurnStatus"]

TurnItemsView = Literal["not_loaded", "summary", "full"]
"""How many of a turn's items a page carries: none, the first user message and the last agent
message, or all of them."""

TurnStatus = Literal["completed", "interrupted", "failed", "in_progress"]
"""``in_progress``: the last turn of the history is still open (nothing ended it yet)."""


@dataclass(frozen=True, slots=True)
class StoredTurnError:
    """Why a turn failed (the ``error`` event that failed it)."""

    message: str
    codex_error_info: Any = None
    additional_details: str | None = None


@dataclass(frozen=True, slots=True)
class StoredTurn:
    """One turn as the history records it.

    ``items`` are app-server v2 ``ThreadItem`` objects (camelCase dicts), as many as
    ``items_view`` asks for. ``started_at`` / ``completed_at`` are Unix seconds as the turn's
    events record them. ``root_turn_id`` is set for turns of current Codex builds (turn
    attribution)."""

    turn_id: str
    items: list[dict[str, Any]] = field(default_factory=list)
    items_view: TurnItemsView = "full"
    status: TurnStatus = "completed"
    error: StoredTurnError | None = None
    started_at: int | None = None
    completed_at: int | None = None
    duration_ms: int | None = None
    root_turn_id: str | None = None
