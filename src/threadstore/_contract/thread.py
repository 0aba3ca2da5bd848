"""What a store knows about a thread: :class:`StoredThread`, whose declaration below is the table
of metadata fields (each field's :class:`~threadstore._contract.fields.FieldSpec` says its wire
number, how the fold derives it, how a patch sets it, its app-server name and its label), and
the values it carries: :class:`GitInfo`, :class:`TokenUsage`, :class:`StoredThreadHistory`.

To add a metadata field: declare it here with its spec, give it its number in the ``.proto``'s
``StoredThread`` message (extensions from 100) and, if a patch sets it, its line in
:class:`~threadstore._contract.patch.ThreadMetadataPatch`; every conversion follows the table.
A field the fold derives needs the fold to derive it (:mod:`threadstore._rollout.summary`, whose
``FOLD_VERSION`` then goes up so that stored summaries are recomputed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from threadstore._contract.fields import FieldSpec, Kind, spec, spec_of
from threadstore._rollout.items import HistoryMode, Item, MemoryMode

__all__ = [
    "THREAD_FIELDS",
    "GitInfo",
    "HistoryMode",
    "MemoryMode",
    "SessionSource",
    "StoredThread",
    "StoredThreadHistory",
    "TokenUsage",
]

SessionSource = str | dict[str, Any]
"""Where a thread came from, in its Codex JSON form: ``"cli"``, ``"vscode"``, ``"exec"``,
``"mcp"``, ``"unknown"``, or an object such as ``{"subagent": "review"}``."""



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


_DERIVED: Final = "derived"
_USER: Final = "user"


@dataclass(frozen=True, slots=True)
class StoredThread:
    """What a store knows about one thread (and, on request, its history).

    Each field's spec (see the module documentation): its kind, wire number (and that of its
    microsecond companion), the fold attribute it comes from, how a patch sets it, its
    app-server v2 key and the label people see it under."""

    # fmt: off
    thread_id: str = field(metadata=spec(Kind.ID, wire=1, v2="id", shown="thread"))
    created_at: datetime = field(metadata=spec(
        Kind.TIME, wire=7, wire_micros=103, fold="created_at", patch=_DERIVED, v2="createdAt", shown="created"))
    updated_at: datetime = field(metadata=spec(
        Kind.TIME, wire=8, wire_micros=104, fold="updated_timestamp", patch=_DERIVED, v2="updatedAt", shown="updated"))
    rollout_path: str | None = field(default=None, metadata=spec(Kind.OPT_TEXT, wire=19))
    forked_from_id: str | None = field(default=None, metadata=spec(
        Kind.OPT_ID, wire=2, fold="forked_from_id", v2="forkedFromId", shown="forked from"))
    parent_thread_id: str | None = field(default=None, metadata=spec(
        Kind.OPT_ID, wire=100, fold="parent_thread_id"))
    preview: str = field(default="", metadata=spec(
        Kind.TEXT, wire=3, fold="effective_preview", patch=_DERIVED, v2="preview"))
    name: str | None = field(default=None, metadata=spec(
        Kind.OPT_TEXT, wire=4, fold="rollout_name", patch=_USER, clearable=True, v2="name"))
    model_provider: str = field(default="", metadata=spec(
        Kind.TEXT, wire=5, fold="model_provider", patch=_DERIVED, v2="modelProvider", shown="provider"))
    model: str | None = field(default=None, metadata=spec(
        Kind.OPT_TEXT, wire=6, fold="model", patch=_DERIVED, shown="model"))
    reasoning_effort: str | None = field(default=None, metadata=spec(
        Kind.OPT_TEXT, wire=17, fold="reasoning_effort", patch=_DERIVED, clearable=True))
    archived_at: datetime | None = field(default=None, metadata=spec(
        Kind.OPT_TIME, wire=9, wire_micros=105, shown="archived"))
    cwd: str = field(default="", metadata=spec(Kind.TEXT, wire=10, fold="cwd", patch=_DERIVED, v2="cwd", shown="cwd"))
    cli_version: str = field(default="", metadata=spec(
        Kind.TEXT, wire=11, fold="cli_version", patch=_DERIVED, v2="cliVersion"))
    source: SessionSource = field(default="unknown", metadata=spec(
        Kind.SOURCE, wire=12, fold="source", patch=_DERIVED, v2="source", shown="source"))
    thread_source: str | None = field(default=None, metadata=spec(
        Kind.OPT_TEXT, wire=101, fold="thread_source", patch=_DERIVED, clearable=True))
    agent_nickname: str | None = field(default=None, metadata=spec(
        Kind.OPT_TEXT, wire=14, fold="agent_nickname", patch=_DERIVED, clearable=True, v2="agentNickname"))
    agent_role: str | None = field(default=None, metadata=spec(
        Kind.OPT_TEXT, wire=15, fold="agent_role", patch=_DERIVED, clearable=True, v2="agentRole"))
    agent_path: str | None = field(default=None, metadata=spec(
        Kind.OPT_TEXT, wire=16, fold="agent_path", patch=_DERIVED, clearable=True))
    git_info: GitInfo | None = field(default=None, metadata=spec(
        Kind.GIT, wire=13, fold="git", patch=_USER, v2="gitInfo", shown="git"))
    approval_mode: str | None = field(default=None, metadata=spec(
        Kind.JSON_TEXT, wire=20, fold="approval_mode", patch=_DERIVED))
    sandbox_policy: Any = field(default=None, metadata=spec(
        Kind.JSON, wire=21, fold="sandbox_policy", patch=_DERIVED))
    token_usage: TokenUsage | None = field(default=None, metadata=spec(
        Kind.USAGE, wire=22, fold="token_usage", patch=_DERIVED, shown="tokens"))
    first_user_message: str | None = field(default=None, metadata=spec(
        Kind.OPT_TEXT, wire=18, fold="effective_first_user_message", patch=_DERIVED))
    memory_mode: MemoryMode = field(default="enabled", metadata=spec(
        Kind.MEMORY, wire=102, fold="memory_mode", patch=_USER))
    #: ``"paginated"`` for a thread of the 0.169 era (its ``session_meta`` says so): its lines
    #: carry ordinals and its messages are ``item_completed`` events. Else ``"legacy"``.
    history_mode: HistoryMode = field(default="legacy", metadata=spec(
        Kind.HISTORY_MODE, wire=106, fold="history_mode"))
    #: Key: value texts given at creation (in the first ``session_meta``) or by patches.
    labels: Mapping[str, str] = field(default_factory=dict, metadata=spec(
        Kind.LABELS, wire=107, fold="labels", patch=_USER, shown="labels"))
    history: StoredThreadHistory | None = field(default=None, metadata=spec(Kind.HISTORY, wire=23))
    # fmt: on

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


def _table() -> tuple[FieldSpec, ...]:
    specs = []
    for dataclass_field in dataclasses.fields(StoredThread):
        described = spec_of(dataclass_field)
        assert described is not None, f"StoredThread.{dataclass_field.name} has no spec"
        specs.append(described)
    return tuple(specs)


THREAD_FIELDS: Final[tuple[FieldSpec, ...]] = _table()
"""Every field of :class:`StoredThread` with its spec, in declaration order."""
