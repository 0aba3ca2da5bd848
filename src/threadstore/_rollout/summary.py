"""Derive a thread's metadata from its items.

Every backend folds a thread's persisted items through :class:`ThreadSummary` to know its
preview, first user message, creation time, cwd, provider, git facts, token usage, labels and so
on, so all backends report the same facts for the same history. The fold is incremental (items
can be added later) and its state serializes to JSON, which lets a store resume it where it
stopped instead of re-reading a thread.

A state carries the :data:`FOLD_VERSION` of the code that made it. When the fold learns
something new (a field, a kind of line), the version goes up, and every store recomputes the
states older than it from the stored lines on its own (:meth:`ThreadSummary.stale`), so a new
field needs no hand-written back-fill.

History edits (:mod:`.edits`) are honoured: a preview or first user message that a pop or a
clear took out of the history is forgotten, and the next user message gives the new one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from threadstore._rollout.claude import CLAUDE_ENTRY, fold_entry
from threadstore._rollout.edits import CLEAR, edit_of
from threadstore._rollout.items import HistoryMode, MemoryMode
from threadstore._rollout.messages import response_user_text, strip_marker, user_event_text
from threadstore._time import parse_timestamp

__all__ = ["FOLD_VERSION", "ThreadSummary"]

FOLD_VERSION: Final = 4
"""The version of the fold. 1: the fold before labels; 2: labels (``session_meta.labels``);
3: Claude Code transcript entries (:mod:`threadstore._rollout.claude`); 4: history edits
(:mod:`.edits`) and "easy" response messages (``{"role", "content"}``)."""

_STATE_FIELDS: Final = (
    "thread_id",
    "meta_seen",
    "forked_from_id",
    "parent_thread_id",
    "created_at",
    "cwd",
    "originator",
    "cli_version",
    "source",
    "thread_source",
    "agent_nickname",
    "agent_role",
    "agent_path",
    "model_provider",
    "memory_mode",
    "git",
    "model",
    "reasoning_effort",
    "approval_mode",
    "sandbox_policy",
    "preview",
    "response_preview",
    "first_user_message",
    "rollout_name",
    "token_usage",
    "last_timestamp",
    "history_mode",
    "last_ordinal",
    "labels",
    "fold_version",
    "claude",
    "response_count",
    "preview_at",
    "first_user_at",
    "response_preview_at",
)


class ThreadSummary:
    """An incremental fold of a thread's items into its metadata.

    The first ``session_meta`` whose id is the thread's (or, when the id is not known yet, the
    first one seen) is canonical; later ones with the same id are amendments (memory mode, git);
    ones with another id come from fork history and are ignored for metadata.
    """

    def __init__(self, thread_id: str | None = None) -> None:
        self.thread_id: str | None = thread_id
        self.meta_seen = False
        self.forked_from_id: str | None = None
        self.parent_thread_id: str | None = None
        self.created_at: str | None = None
        self.cwd = ""
        self.originator = ""
        self.cli_version = ""
        self.source: Any = "unknown"
        self.thread_source: str | None = None
        self.agent_nickname: str | None = None
        self.agent_role: str | None = None
        self.agent_path: str | None = None
        self.model_provider = ""
        self.memory_mode: MemoryMode = "enabled"
        self.git: dict[str, Any] | None = None
        self.model: str | None = None
        self.reasoning_effort: str | None = None
        self.approval_mode: str | None = None
        self.sandbox_policy: Any = None
        self.preview: str | None = None
        self.response_preview: str | None = None
        self.first_user_message: str | None = None
        self.rollout_name: str | None = None
        self.token_usage: dict[str, Any] | None = None
        self.last_timestamp: str | None = None
        #: The ``history_mode`` of the thread's last own ``session_meta`` ("legacy" without one).
        self.history_mode: HistoryMode = "legacy"
        #: The highest line ``ordinal`` seen (lines of paginated threads carry one).
        self.last_ordinal: int | None = None
        #: The labels of the thread's own ``session_meta`` (an amendment replaces them).
        self.labels: dict[str, str] = {}
        #: The version of the fold that made this state (see the module documentation).
        self.fold_version: int = FOLD_VERSION
        #: What the fold keeps of Claude Code entries, None without any (:mod:`.claude`).
        self.claude: dict[str, Any] | None = None
        #: How many response items are visible (history edits take some away), and how many
        #: were when the preview, the first user message and the response preview were found:
        #: an edit that leaves fewer takes them away too.
        self.response_count = 0
        self.preview_at = 0
        self.first_user_at = 0
        self.response_preview_at = 0

    # -- state -------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _STATE_FIELDS}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ThreadSummary:
        summary = cls()
        summary.fold_version = 1  # a state from before versions were recorded
        for name in _STATE_FIELDS:
            if name in state:
                setattr(summary, name, state[name])
        return summary

    @property
    def stale(self) -> bool:
        """Whether an older fold made this state: it must be recomputed from the lines."""
        return self.fold_version < FOLD_VERSION

    # -- folding -----------------------------------------------------------------------------

    def add_all(self, items: Iterable[Mapping[str, Any]], timestamps: Iterable[str | None] | None = None) -> None:
        if timestamps is None:
            for item in items:
                self.add(item)
        else:
            for item, ts in zip(items, timestamps, strict=True):
                self.add(item, ts)

    def add(self, item: Mapping[str, Any], timestamp: str | None = None) -> None:
        """Fold one item written at ``timestamp`` (its rollout line's stamp). An item that carries
        its own ``timestamp`` was written then (a copy keeps its original time)."""
        own = item.get("timestamp")
        if isinstance(own, str):
            timestamp = own
        if timestamp:
            self.last_timestamp = timestamp
        ordinal = item.get("ordinal")
        if type(ordinal) is int and (self.last_ordinal is None or ordinal > self.last_ordinal):
            self.last_ordinal = ordinal
        kind = item.get("type")
        payload = item.get("payload")
        if not isinstance(payload, Mapping):
            return
        if kind == "response_item":
            self.response_count += 1
        if kind == "session_meta":
            self._session_meta(payload)
        elif kind == "turn_context":
            self._turn_context(payload)
        elif kind == "event_msg":
            self._event(item, payload)
        elif kind == CLAUDE_ENTRY:
            fold_entry(self, payload)
        elif kind == "response_item" and self.response_preview is None:
            text = response_user_text(item)
            if text:
                self.response_preview = strip_marker(text) or None
                self.response_preview_at = self.response_count

    def _session_meta(self, meta: Mapping[str, Any]) -> None:
        meta_id = meta.get("id")
        if not self.meta_seen:
            if self.thread_id is not None and meta_id != self.thread_id:
                return
            self.meta_seen = True
            if isinstance(meta_id, str):
                self.thread_id = meta_id
            self.forked_from_id = _s(meta.get("forked_from_id"))
            self.created_at = _s(meta.get("timestamp"))
            self.cwd = _s(meta.get("cwd")) or ""
            self.originator = _s(meta.get("originator")) or ""
            self.cli_version = _s(meta.get("cli_version")) or ""
            source = meta.get("source")
            self.source = source if isinstance(source, str | dict) and source else "vscode"
            self.parent_thread_id = _s(meta.get("parent_thread_id")) or _spawn_parent(self.source)
            self.thread_source = _s(meta.get("thread_source"))
            self.agent_nickname = _s(meta.get("agent_nickname"))
            self.agent_role = _s(meta.get("agent_role")) or _s(meta.get("agent_type"))
            self.agent_path = _s(meta.get("agent_path"))
            self.model_provider = _s(meta.get("model_provider")) or ""
            if meta.get("memory_mode") == "disabled":
                self.memory_mode = "disabled"
            git = meta.get("git")
            self.git = dict(git) if isinstance(git, Mapping) else None
            self._labels(meta)
            self._history_mode(meta)
            return
        if meta_id != self.thread_id:
            return
        # An amendment of the canonical metadata.
        self._history_mode(meta)
        mode = meta.get("memory_mode")
        if mode in ("enabled", "disabled"):
            self.memory_mode = mode
        git = meta.get("git")
        if isinstance(git, Mapping):
            self.git = dict(git)
        self._labels(meta)

    def _labels(self, meta: Mapping[str, Any]) -> None:
        labels = meta.get("labels")
        if isinstance(labels, Mapping):
            self.labels = {k: v for k, v in labels.items() if isinstance(k, str) and isinstance(v, str)}

    def _history_mode(self, meta: Mapping[str, Any]) -> None:
        mode = meta.get("history_mode")
        if mode == "paginated" or mode == "legacy":
            self.history_mode = mode

    def next_ordinal(self) -> int:
        """The ordinal the thread's next line takes."""
        return 0 if self.last_ordinal is None else self.last_ordinal + 1

    def _turn_context(self, ctx: Mapping[str, Any]) -> None:
        if not self.cwd:
            self.cwd = _s(ctx.get("cwd")) or ""
        model = _s(ctx.get("model"))
        if model:
            self.model = model
        if "effort" in ctx:
            self.reasoning_effort = _s(ctx.get("effort"))
        approval = ctx.get("approval_policy")
        if isinstance(approval, str):
            self.approval_mode = approval
        if "sandbox_policy" in ctx:
            self.sandbox_policy = ctx.get("sandbox_policy")

    def _edit(self, edit: int) -> None:
        """Forget what a history edit took away (see the module documentation)."""
        left = -1 if edit == CLEAR or edit > self.response_count else self.response_count - edit
        self.response_count = max(0, left)
        if self.preview is not None and self.preview_at > left:
            self.preview = None
        if self.first_user_message is not None and self.first_user_at > left:
            self.first_user_message = None
        if self.response_preview is not None and self.response_preview_at > left:
            self.response_preview = None

    def _event(self, item: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        edit = edit_of(item)
        if edit is not None:
            self._edit(edit)
            return
        event = payload.get("type")
        user = user_event_text(item)
        if user is not None:
            text, images = user
            stripped = strip_marker(text)
            preview = stripped or ("[Image]" if images else "")
            if preview:
                if self.first_user_message is None:
                    self.first_user_message, self.first_user_at = preview, self.response_count
                if self.preview is None:
                    self.preview, self.preview_at = preview, self.response_count
            return
        if event == "token_count":
            info = payload.get("info")
            if isinstance(info, Mapping) and isinstance(info.get("total_token_usage"), Mapping):
                self.token_usage = dict(info["total_token_usage"])
        elif event == "thread_name_updated":
            name = payload.get("thread_name")
            self.rollout_name = (name.strip() or None) if isinstance(name, str) else None
        elif event == "thread_goal_updated" and self.preview is None:
            goal = payload.get("goal")
            objective = goal.get("objective") if isinstance(goal, Mapping) else None
            if isinstance(objective, str) and objective.strip():
                self.preview, self.preview_at = objective.strip(), self.response_count

    # -- results -----------------------------------------------------------------------------

    @property
    def has_user_message(self) -> bool:
        return self.first_user_message is not None or self.response_preview is not None or self.claude is not None

    @property
    def effective_preview(self) -> str:
        """The preview: the first user message event's text, else the first user response
        message's."""
        return self.preview or self.response_preview or ""

    @property
    def effective_first_user_message(self) -> str | None:
        return self.first_user_message or self.response_preview

    @property
    def updated_timestamp(self) -> str | None:
        """When the thread last changed: its last line's time, else its creation time."""
        return self.last_timestamp if parse_timestamp(self.last_timestamp) is not None else self.created_at


def _s(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _spawn_parent(source: object) -> str | None:
    if isinstance(source, Mapping):
        sub = source.get("subagent")
        if isinstance(sub, Mapping):
            spawn = sub.get("thread_spawn")
            if isinstance(spawn, Mapping):
                return _s(spawn.get("parent_thread_id"))
    return None
