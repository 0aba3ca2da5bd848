"""Parameter and result types of the :class:`~threadstore._contract.base.ThreadStore` contract.

Parameter objects are frozen dataclasses whose names, fields and defaults follow the Codex
thread-store contract. They validate themselves on construction: a malformed id, an unknown enum
value or an out-of-range page size raises :class:`~threadstore.errors.InvalidRequest` before any
backend sees the request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal

from threadstore._checks import check_idempotency_key, check_instant, check_json, check_labels, check_text, shown
from threadstore._contract.thread import (
    GitInfo,
    HistoryMode,
    MemoryMode,
    SessionSource,
    StoredThread,
    StoredThreadHistory,
    TokenUsage,
)
from threadstore._ids import validate_thread_id
from threadstore._rollout.items import Item, validate_items
from threadstore._rollout.policy import EventPersistenceMode, PersistedItems, classify, validate_mode
from threadstore.errors import Conflict, InvalidRequest

__all__ = [
    "AppendThreadItemsParams",
    "CreateThreadParams",
    "GitInfo",
    "HistoryMode",
    "LoadThreadHistoryParams",
    "MemoryMode",
    "ReadThreadByRolloutPathParams",
    "ReadThreadParams",
    "ResumeThreadParams",
    "SessionSource",
    "SortDirection",
    "StoredThread",
    "StoredThreadHistory",
    "ThreadSortKey",
    "TokenUsage",
    "is_key_reused",
    "key_reused",
    "source_kind",
    "validate_memory_mode",
    "validate_source",
]

ThreadSortKey = Literal["created_at", "updated_at"]
SortDirection = Literal["asc", "desc"]

MAX_PAGE_SIZE = 1000
#: The largest ``LoadThreadHistoryParams.tail`` (a larger request reads the whole history).
MAX_TAIL = 1 << 30


def validate_memory_mode(value: object) -> MemoryMode:
    """Return ``value`` as a memory mode or raise :class:`InvalidRequest`."""
    if value == "enabled":
        return "enabled"
    if value == "disabled":
        return "disabled"
    raise InvalidRequest(f"unknown memory mode: {value!r}")


def validate_source(value: object) -> SessionSource:
    """Return ``value`` as a session source (a non-empty string, or a non-empty JSON object)."""
    if isinstance(value, str) and value:
        return check_text(value, "session source")
    if isinstance(value, dict) and value:
        return check_json(value, "session source")  # type: ignore[no-any-return]
    raise InvalidRequest(f"invalid session source: {shown(value)}")


def source_kind(source: object) -> str:
    """The filterable kind of a source: the string itself, or the single key of an object source
    (``"subagent"``, ``"custom"``, ...). Unknown shapes are ``"unknown"``."""
    if isinstance(source, str):
        return source
    if isinstance(source, dict) and len(source) == 1:
        return str(next(iter(source)))
    return "unknown"


def check_page_size(page_size: object) -> None:
    """``InvalidRequest`` unless ``page_size`` is an integer from 1 to :data:`MAX_PAGE_SIZE`."""
    if not isinstance(page_size, int) or isinstance(page_size, bool) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"page_size must be an integer between 1 and {MAX_PAGE_SIZE}, got {page_size!r}")


def check_sort(sort_key: object, sort_direction: object) -> None:
    """``InvalidRequest`` for an unknown sort key or direction."""
    if sort_key not in ("created_at", "updated_at"):
        raise InvalidRequest(f"unknown sort key: {sort_key!r}")
    if sort_direction not in ("asc", "desc"):
        raise InvalidRequest(f"unknown sort direction: {sort_direction!r}")


def set_field(obj: object, name: str, value: object) -> None:
    """Set a field of a frozen dataclass while it checks itself (in ``__post_init__``)."""
    object.__setattr__(obj, name, value)


@dataclass(frozen=True, slots=True)
class CreateThreadParams:
    """Open live persistence for a brand-new thread (nothing is written until it is needed)."""

    thread_id: str
    cwd: str
    model_provider: str
    source: SessionSource = "cli"
    forked_from_id: str | None = None
    base_instructions: str | None = None
    dynamic_tools: Sequence[Mapping[str, Any]] = ()
    event_persistence_mode: EventPersistenceMode = "limited"
    memory_mode: MemoryMode = "enabled"
    parent_thread_id: str | None = None
    originator: str = "threadstore"
    cli_version: str = ""
    git_info: GitInfo | None = None
    #: When the thread was created; None means now. Set it to keep the original time when a
    #: thread is copied from another store.
    created_at: datetime | None = None
    #: Labels (key: value texts), written in the thread's first ``session_meta``.
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_field(self, "thread_id", validate_thread_id(self.thread_id))
        if self.created_at is not None:
            check_instant(self.created_at, "created_at")
        if self.forked_from_id is not None:
            set_field(self, "forked_from_id", validate_thread_id(self.forked_from_id, "forked_from_id"))
        if self.parent_thread_id is not None:
            set_field(self, "parent_thread_id", validate_thread_id(self.parent_thread_id, "parent_thread_id"))
        for name in ("cwd", "model_provider", "originator", "cli_version"):
            check_text(getattr(self, name), name)
        if self.base_instructions is not None:
            check_text(self.base_instructions, "base_instructions")
        validate_source(self.source)
        validate_mode(self.event_persistence_mode)
        validate_memory_mode(self.memory_mode)
        if self.git_info is not None and not isinstance(self.git_info, GitInfo):
            raise InvalidRequest("git_info must be a GitInfo")
        if self.git_info is not None:
            check_json(self.git_info.to_json(), "git_info")
        tools = tuple(self.dynamic_tools)
        for tool in tools:
            if not isinstance(tool, Mapping):
                raise InvalidRequest("each dynamic tool must be an object")
        check_json([dict(tool) for tool in tools], "dynamic_tools")
        set_field(self, "dynamic_tools", tools)
        set_field(self, "labels", check_labels(self.labels))


@dataclass(frozen=True, slots=True)
class ResumeThreadParams:
    """Reopen live persistence for an existing thread; later appends go to the same history."""

    thread_id: str
    rollout_path: str | None = None
    history: Sequence[Item] | None = None
    include_archived: bool = False
    cwd: str | None = None
    model_provider: str | None = None
    event_persistence_mode: EventPersistenceMode = "limited"

    def __post_init__(self) -> None:
        set_field(self, "thread_id", validate_thread_id(self.thread_id))
        if self.rollout_path is not None and not isinstance(self.rollout_path, str | Path):
            raise InvalidRequest("rollout_path must be a path")
        if self.rollout_path is not None:
            set_field(self, "rollout_path", check_text(str(self.rollout_path), "rollout_path"))
        if self.history is not None:
            set_field(self, "history", validate_items(self.history))
        for name in ("cwd", "model_provider"):
            if getattr(self, name) is not None:
                check_text(getattr(self, name), name)
        validate_mode(self.event_persistence_mode)


@dataclass(frozen=True, slots=True)
class AppendThreadItemsParams:
    """Append raw items to a live thread, in order (the store applies the persistence policy).

    ``idempotency_key`` (optional, 1 to 200 characters) makes the append safe to send again: an
    append whose key the store already applied to the thread with the same items is acknowledged
    without storing anything, and one whose key came with other items is refused with
    ``Conflict`` (where keys are kept: :meth:`~threadstore._contract.base.ThreadStore.append_items`).

    ``persisted`` is the policy's verdict on ``items``, computed once here: every layer an append
    crosses in this process (runtime, server, store) reads it instead of running the policy again.

    ``exact`` appends existing rollout lines as they are (a copy or an import): no policy, and a
    line's own ``timestamp`` and ``ordinal`` are kept; the first line of a new thread may be its
    own ``session_meta`` (see :func:`threadstore._contract.first_line.adopt_first_line`). Without it, a
    store numbers the lines of a thread with paginated history itself."""

    thread_id: str
    items: Sequence[Item]
    exact: bool = False
    idempotency_key: str | None = None
    persisted: PersistedItems = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_field(self, "thread_id", validate_thread_id(self.thread_id))
        checked = validate_items(self.items)
        set_field(self, "items", checked)
        if self.idempotency_key is not None:
            check_idempotency_key(self.idempotency_key)
        set_field(self, "persisted", PersistedItems.of_lines(checked) if self.exact else classify(checked))


_KEY_REUSED: Final = "was already used for other items"


def key_reused(thread_id: str, key: str) -> Conflict:
    """The error of an append whose idempotency key the thread already recorded with other items."""
    return Conflict(f"idempotency key {shown(key)} of thread {thread_id} {_KEY_REUSED}")


def is_key_reused(error: Conflict) -> bool:
    """Whether ``error`` is :func:`key_reused`'s (it keeps its text across the wire), not that of
    another writer."""
    return error.message.endswith(_KEY_REUSED)


@dataclass(frozen=True, slots=True)
class LoadThreadHistoryParams:
    """A thread's history. ``resolve_forks`` (the default) gives the history a fork by reference
    stands for (its parent's lines before the fork point, then its own); False gives the lines
    as stored, for an exact copy.

    ``tail`` (a positive integer) asks for the history's last ``tail`` lines only (all of them
    when it has fewer), in order, read without loading the rest where the backend can: every
    backend of this package reads a tail from the end of the thread (a compressed rollout, or a
    fork by reference whose own lines are fewer, is read whole and cut). A reader that needs
    more asks again with a larger tail."""

    thread_id: str
    include_archived: bool = False
    resolve_forks: bool = True
    tail: int | None = None

    def __post_init__(self) -> None:
        set_field(self, "thread_id", validate_thread_id(self.thread_id))
        if self.tail is not None and (
            not isinstance(self.tail, int) or isinstance(self.tail, bool) or not 1 <= self.tail <= MAX_TAIL
        ):
            raise InvalidRequest(f"tail must be an integer between 1 and {MAX_TAIL}, got {self.tail!r}")


@dataclass(frozen=True, slots=True)
class ReadThreadParams:
    thread_id: str
    include_archived: bool = False
    include_history: bool = False

    def __post_init__(self) -> None:
        set_field(self, "thread_id", validate_thread_id(self.thread_id))


@dataclass(frozen=True, slots=True)
class ReadThreadByRolloutPathParams:
    rollout_path: str
    include_archived: bool = False
    include_history: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.rollout_path, str | Path) or not str(self.rollout_path):
            raise InvalidRequest("rollout_path must be a non-empty path")
        set_field(self, "rollout_path", check_text(str(self.rollout_path), "rollout_path"))
