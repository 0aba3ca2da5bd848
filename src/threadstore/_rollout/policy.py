"""The persistence policy: which rollout items a store keeps.

This is the policy of the Codex builds of the 0.125 era, with its two modes.
``limited`` (the default) keeps the model-visible history, the conversation events and the
turn boundaries; ``extended`` also keeps tool-end events and errors. Deltas, ``*_begin`` events,
approval requests, ``session_configured``, warnings and ``shutdown_complete`` are never kept, and
neither is any event type this module does not know. threadstore's own history-edit markers
(:mod:`.edits`) are kept in both modes, like Codex's ``thread_rolled_back``. Every other rollout kind (including
unknown kinds) is kept.

Threads with paginated history (the 0.169 era: their ``session_meta`` says
``history_mode: "paginated"``) record messages as ``item_completed`` events carrying the item,
and their settings as ``thread_settings_applied``: a store keeps those events for such threads,
in either mode, and for no other thread (a legacy thread keeps ``item_completed`` only for plans).

An exact append (:meth:`PersistedItems.exact`: a copy or an import of existing lines) bypasses
the policy: every item is kept as given.

Stores apply the policy themselves (callers may hand them raw items), and they apply it
*before* looking for a live writer, so appending only never-persisted events is always harmless.
One append is classified once: :class:`PersistedItems` holds, for every mode at once, what a
store keeps of it (``AppendThreadItemsParams.persisted`` computes it on first use and keeps it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from threadstore import _json
from threadstore.errors import InvalidRequest

__all__ = [
    "EVENT_PERSISTENCE_MODES",
    "PAGINATED_EVENTS",
    "EventPersistenceMode",
    "PersistedItems",
    "classify",
    "is_persisted",
    "persisted_items",
    "validate_mode",
]

EventPersistenceMode = Literal["limited", "extended"]
EVENT_PERSISTENCE_MODES: Final = ("limited", "extended")

LIMITED_EVENTS: Final = frozenset(
    {
        "user_message",
        "agent_message",
        "agent_reasoning",
        "agent_reasoning_raw_content",
        "patch_apply_end",
        "token_count",
        "thread_goal_updated",
        "context_compacted",
        "entered_review_mode",
        "exited_review_mode",
        "mcp_tool_call_end",
        "thread_rolled_back",
        "thread_name_updated",
        "undo_completed",
        "turn_aborted",
        "task_started",
        "turn_started",
        "task_complete",
        "turn_complete",
        "web_search_end",
        "image_generation_end",
        # threadstore's own history edits (:mod:`.edits`), kept like ``thread_rolled_back``.
        "thread_items_popped",
        "thread_history_cleared",
    }
)

EXTENDED_ONLY_EVENTS: Final = frozenset(
    {
        "error",
        "guardian_assessment",
        "exec_command_end",
        "view_image_tool_call",
        "collab_agent_spawn_end",
        "collab_agent_interaction_end",
        "collab_waiting_end",
        "collab_close_end",
        "collab_resume_end",
        "dynamic_tool_call_request",
        "dynamic_tool_call_response",
    }
)

PAGINATED_EVENTS: Final = frozenset({"item_completed", "thread_settings_applied"})
"""Events kept only for threads with paginated history (besides plans, kept for every thread)."""

_NEVER_RESPONSE_ITEMS: Final = frozenset({"other", "compaction_trigger"})
_EXEC_OUTPUT_LIMIT: Final = 10_000


def validate_mode(mode: object) -> EventPersistenceMode:
    """Return ``mode`` if it is a known persistence mode, else raise :class:`InvalidRequest`."""
    if mode == "limited":
        return "limited"
    if mode == "extended":
        return "extended"
    raise InvalidRequest(f"unknown event persistence mode: {mode!r}")


_NEVER: Final = 0
_LIMITED: Final = 1
_EXTENDED: Final = 2
_PAGINATED: Final = 3


def _level(item: Mapping[str, Any]) -> int:
    """Who keeps ``item``: nobody (0), every thread (1), threads in extended mode (2), threads
    with paginated history (3)."""
    kind = item.get("type")
    payload = item.get("payload")
    if kind == "event_msg":
        if not isinstance(payload, Mapping):
            return _NEVER
        event_kind = payload.get("type")
        if event_kind in LIMITED_EVENTS:
            return _LIMITED
        if event_kind == "item_completed":
            inner = payload.get("item")
            return _LIMITED if isinstance(inner, Mapping) and inner.get("type") == "Plan" else _PAGINATED
        if event_kind in PAGINATED_EVENTS:
            return _PAGINATED
        return _EXTENDED if event_kind in EXTENDED_ONLY_EVENTS else _NEVER
    if kind == "response_item":
        never = isinstance(payload, Mapping) and payload.get("type") in _NEVER_RESPONSE_ITEMS
        return _NEVER if never else _LIMITED
    return _LIMITED


def is_persisted(item: Mapping[str, Any], mode: EventPersistenceMode = "limited", *, paginated: bool = False) -> bool:
    """True when a store keeps ``item`` under ``mode`` (in a thread with paginated history when
    ``paginated``)."""
    return _keeps(_level(item), mode == "extended", paginated)


def _keeps(level: int, extended: bool, paginated: bool) -> bool:
    return level == _LIMITED or (level == _EXTENDED and extended) or (level == _PAGINATED and paginated)


def _sanitize(item: dict[str, Any]) -> dict[str, Any]:
    """Trim the bulky fields of ``exec_command_end`` as the extended mode requires."""
    payload = item["payload"]
    output = payload.get("aggregated_output")
    changed = dict(payload)
    if isinstance(output, str) and len(output) > _EXEC_OUTPUT_LIMIT:
        half = _EXEC_OUTPUT_LIMIT // 2
        changed["aggregated_output"] = output[:half] + "\n…\n" + output[-half:]
    for key in ("stdout", "stderr", "formatted_output"):
        if key in changed:
            changed[key] = ""
    return {**item, "payload": changed}


@dataclass(frozen=True, slots=True)
class PersistedItems:
    """What a store keeps of one append, for any thread, in order.

    ``items`` holds every item some thread keeps (sanitized where the policy says so) and
    ``levels`` who keeps each; :meth:`for_mode` picks one thread's share. Empty when no thread
    keeps anything of the append: such an append needs no writer at all. ``exact`` marks the
    existing lines of a copy or an import, kept as given."""

    items: list[dict[str, Any]]
    levels: bytes
    exact: bool = False

    @classmethod
    def of_lines(cls, items: Sequence[dict[str, Any]]) -> PersistedItems:
        """Every item kept as given (the lines of a copy or an import)."""
        return cls(list(items), bytes([_LIMITED]) * len(items), exact=True)

    def __bool__(self) -> bool:
        return bool(self.items)

    def digest(self) -> str:
        """A fingerprint of what the append keeps (its items in order, and whether it is exact):
        two appends that would store the same lines have the same digest. Stores keep it with an
        idempotency key, to tell a retry (same digest) from a key reused for other items."""
        hasher = hashlib.blake2b(b"exact" if self.exact else b"policy", digest_size=16)
        for item in self.items:
            data = _json.dumps(item)
            hasher.update(len(data).to_bytes(8, "little"))
            hasher.update(data)
        return hasher.hexdigest()

    def for_mode(self, mode: EventPersistenceMode, *, paginated: bool = False) -> list[dict[str, Any]]:
        """The items a thread in ``mode`` keeps (with paginated history when ``paginated``)."""
        if self.levels.count(_LIMITED) == len(self.levels):
            return self.items
        extended = mode == "extended"
        return [item for item, level in zip(self.items, self.levels, strict=True) if _keeps(level, extended, paginated)]


def classify(items: Iterable[dict[str, Any]]) -> PersistedItems:
    """Run the policy over ``items`` once (see :class:`PersistedItems`)."""
    kept: list[dict[str, Any]] = []
    levels = bytearray()
    for item in items:
        level = _level(item)
        if level == _NEVER:
            continue
        if level == _EXTENDED and item["payload"].get("type") == "exec_command_end":
            item = _sanitize(item)
        kept.append(item)
        levels.append(level)
    return PersistedItems(kept, bytes(levels))


def persisted_items(
    items: Iterable[dict[str, Any]], mode: EventPersistenceMode = "limited", *, paginated: bool = False
) -> list[dict[str, Any]]:
    """The items of ``items`` that a store keeps under ``mode``, in order (sanitized where the
    policy says so)."""
    return classify(items).for_mode(mode, paginated=paginated)
