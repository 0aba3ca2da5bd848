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
from typing import TYPE_CHECKING, Any, Literal

from threadstore._checks import check_idempotency_key, check_instant, check_json, check_text, shown
from threadstore._ids import validate_thread_id
from threadstore._rollout.items import Item, validate_items
from threadstore._rollout.policy import EventPersistenceMode, PersistedItems, classify, validate_mode
from threadstore.errors import InvalidRequest

if TYPE_CHECKING:
    from threadstore._contract.patch import ThreadMetadataPatch

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
    "UpdateThreadMetadataParams",
    "source_kind",
    "validate_memory_mode",
    "validate_source",
]

SessionSource = str | dict[str, Any]
"""Where a thread came from, in its Codex JSON form: ``"cli"``, ``"vscode"``, ``"exec"``,
``"mcp"``, ``"unknown"``, or an object such as ``{"subagent": "review"}``."""

HistoryMode = Literal["legacy", "paginated"]
MemoryMode = Literal["enabled", "disabled"]
ThreadSortKey = Literal["created_at", "updated_at"]
SortDirection = Literal["asc", "desc"]

MAX_PAGE_SIZE = 1000


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
class GitInfo:
    """Git facts about a thread's working directory."""

    commit_hash: str | None = None
    branch: str | None = None
    repository_url: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"commit_hash": self.commit_hash, "branch": self.branch, "repository_url": self.repository_url}

    @classmethod
    def from_json(cls, value: object) -> GitInfo | None:
        """Build from the rollout ``git`` object; None when there is no usable value."""
        if not isinstance(value, Mapping):
            return None
        info = cls(
            commit_hash=_opt_str(value.get("commit_hash")),
            branch=_opt_str(value.get("branch")),
            repository_url=_opt_str(value.get("repository_url")),
        )
        return None if info == GitInfo() else info


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Cumulative token usage of a thread (the last ``token_count`` total)."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_output_tokens: int = 0
    total_tokens: int = 0

    def to_json(self) -> dict[str, int]:
        # Spelled out: dataclasses.asdict deep-copies, and this runs for every indexed thread.
        return {
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_output_tokens": self.reasoning_output_tokens,
            "total_tokens": self.total_tokens,
        }

    @classmethod
    def from_json(cls, value: object) -> TokenUsage | None:
        if not isinstance(value, Mapping):
            return None
        return cls(
            input_tokens=_int(value.get("input_tokens")),
            cached_input_tokens=_int(value.get("cached_input_tokens")),
            output_tokens=_int(value.get("output_tokens")),
            reasoning_output_tokens=_int(value.get("reasoning_output_tokens")),
            total_tokens=_int(value.get("total_tokens")),
        )


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class StoredThreadHistory:
    """A thread's persisted items in replay order, and when each was written.

    ``timestamps[i]`` is the RFC 3339 time of ``items[i]`` (None for a line that carried none),
    or ``timestamps`` is None when the history came from somewhere that does not keep them. An
    item never carries a ``timestamp`` of its own here: an appended item's ``timestamp`` is the
    time of its line. :meth:`lines` puts them back together, which is what an exact copy appends.
    """

    thread_id: str
    items: list[Item]
    timestamps: list[str | None] | None = None

    def lines(self) -> list[Item]:
        """Each item with its time as its first field (the rollout line it was)."""
        if self.timestamps is None:
            return [dict(item) for item in self.items]
        return [
            {"timestamp": stamp, **item} if stamp is not None else dict(item)
            for item, stamp in zip(self.items, self.timestamps, strict=True)
        ]


@dataclass(frozen=True, slots=True)
class StoredThread:
    """What a store knows about one thread (and, on request, its history)."""

    thread_id: str
    created_at: datetime
    updated_at: datetime
    rollout_path: str | None = None
    forked_from_id: str | None = None
    parent_thread_id: str | None = None
    preview: str = ""
    name: str | None = None
    model_provider: str = ""
    model: str | None = None
    reasoning_effort: str | None = None
    archived_at: datetime | None = None
    cwd: str = ""
    cli_version: str = ""
    source: SessionSource = "unknown"
    thread_source: str | None = None
    agent_nickname: str | None = None
    agent_role: str | None = None
    agent_path: str | None = None
    git_info: GitInfo | None = None
    approval_mode: str | None = None
    sandbox_policy: Any = None
    token_usage: TokenUsage | None = None
    first_user_message: str | None = None
    memory_mode: MemoryMode = "enabled"
    #: ``"paginated"`` for a thread of the 0.169 era (its ``session_meta`` says so): its lines
    #: carry ordinals and its messages are ``item_completed`` events. Else ``"legacy"``.
    history_mode: HistoryMode = "legacy"
    history: StoredThreadHistory | None = None

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


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
    append whose key the store already applied to the thread is acknowledged without storing
    anything (how long a store remembers keys: :meth:`~threadstore._contract.base.ThreadStore.append_items`).

    ``persisted`` is the policy's verdict on ``items``, computed once here: every layer an append
    crosses in this process (runtime, server, store) reads it instead of running the policy again.

    ``exact`` appends existing rollout lines as they are (a copy or an import): no policy, and a
    line's own ``timestamp`` and ``ordinal`` are kept; the first line of a new thread may be its
    own ``session_meta`` (see :func:`threadstore._backends.shared.live.adopt_first_line`). Without it, a
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


@dataclass(frozen=True, slots=True)
class LoadThreadHistoryParams:
    """A thread's history. ``resolve_forks`` (the default) gives the history a fork by reference
    stands for (its parent's lines before the fork point, then its own); False gives the lines
    as stored, for an exact copy."""

    thread_id: str
    include_archived: bool = False
    resolve_forks: bool = True

    def __post_init__(self) -> None:
        set_field(self, "thread_id", validate_thread_id(self.thread_id))


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


@dataclass(frozen=True, slots=True)
class UpdateThreadMetadataParams:
    thread_id: str
    patch: ThreadMetadataPatch
    include_archived: bool = False

    def __post_init__(self) -> None:
        from threadstore._contract.patch import ThreadMetadataPatch

        set_field(self, "thread_id", validate_thread_id(self.thread_id))
        if not isinstance(self.patch, ThreadMetadataPatch):
            raise InvalidRequest("patch must be a ThreadMetadataPatch")
