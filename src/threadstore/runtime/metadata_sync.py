"""``ThreadMetadataSync``: derive a live thread's metadata patches from the items it appends.

The store's ``append_items`` only stores history; metadata (preview, title, first user message,
token usage, model, cwd, timestamps ...) is derived *above* the store, here, and written with
``update_thread_metadata``. This class holds the derivation state of one live thread and the
single pending patch that has not been applied yet. It does no I/O: :class:`LiveThread` decides
when to apply the patch.

Rules (Codex ``thread_metadata_sync``):

* **create** starts with a patch of the thread's creation facts (provider, created/updated time,
  source, cwd, cli version), *deferred until history exists*: nothing is
  written for a thread that never gets an item.
* **resume** observes the loaded history without an ``updated_at`` stamp; whatever it yields is
  deferred until the first append, so merely opening a thread never rewrites its metadata.
* every **append** clears both deferrals, observes its items (stamping ``updated_at``), merges
  the result into the pending patch and increments the *generation*.
* an append whose items do not affect metadata is a "touch" (only ``updated_at``). If nothing else
  is pending and a touch was persisted less than ``touch_interval`` seconds ago, it is coalesced:
  :meth:`observe_append` returns None and the touch waits, pending, for a later append or barrier.
* :meth:`mark_pending_update_applied` clears the pending patch only if no append merged into it
  since it was taken (its generation still matches), so concurrent observations are never lost.
* ``name`` is never derived from content; ``title`` is the derived, best-effort one.
* ``memory_mode`` and ``git_info`` are not derived either: they are durable, user-facing fields
  that ``create_thread`` already records in the thread's ``session_meta`` (and that file-backed
  stores apply by appending a line), so deriving them would only write history back into itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from ..items import Item, event_type
from ..store.patch import UNSET, ThreadMetadataPatch
from ..store.summary import USER_MESSAGE_BEGIN, user_event_text
from ..store.types import CreateThreadParams, TokenUsage
from ..timeutil import parse_timestamp, utc_now

__all__ = [
    "DEFAULT_TOUCH_INTERVAL",
    "PendingMetadataUpdate",
    "ThreadMetadataSync",
    "item_affects_metadata",
    "preview_text",
]

DEFAULT_TOUCH_INTERVAL: Final = 5.0
"""Seconds within which a second metadata-irrelevant append is coalesced."""

_METADATA_EVENTS: Final = frozenset({"token_count", "user_message", "thread_goal_updated"})


@dataclass(frozen=True, slots=True)
class PendingMetadataUpdate:
    """A copy of the pending patch, tagged with the generation it was taken at."""

    patch: ThreadMetadataPatch
    generation: int


def item_affects_metadata(item: Mapping[str, Any]) -> bool:
    """True for the items whose content changes thread metadata (``session_meta``,
    ``turn_context``, ``token_count``, ``user_message``, ``thread_goal_updated`` and a completed
    user-message item); every other item only advances ``updated_at``."""
    kind = item.get("type")
    if kind in ("session_meta", "turn_context"):
        return True
    event = event_type(item)
    if event in _METADATA_EVENTS:
        return True
    return event == "item_completed" and user_event_text(item) is not None


def _strip_marker(text: str) -> str:
    index = text.find(USER_MESSAGE_BEGIN)
    if index >= 0:
        text = text[index + len(USER_MESSAGE_BEGIN) :]
    return text.strip()


def preview_text(text: str, has_images: bool) -> str:
    """The preview a user message yields: its text after the request marker, trimmed; or
    ``"[Image]"`` when that is empty but the message carried images; else ``""``."""
    stripped = _strip_marker(text)
    if stripped:
        return stripped
    return "[Image]" if has_images else ""


def _spawn_agent_fields(source: object) -> dict[str, Any]:
    """``agent_nickname``/``agent_role``/``agent_path`` of a thread-spawn subagent source."""
    if not isinstance(source, Mapping):
        return {}
    sub = source.get("subagent")
    spawn = sub.get("thread_spawn") if isinstance(sub, Mapping) else None
    if not isinstance(spawn, Mapping):
        return {}
    fields: dict[str, Any] = {}
    for name in ("agent_nickname", "agent_role", "agent_path"):
        value = spawn.get(name)
        if isinstance(value, str):
            fields[name] = value
    return fields


class ThreadMetadataSync:
    """Metadata derivation state of one live thread (see the module documentation).

    ``clock`` (monotonic seconds) measures the touch window; ``now`` stamps ``updated_at``.
    Every method is synchronous and does no I/O, so on one event loop each call is atomic.
    """

    def __init__(
        self,
        thread_id: str,
        *,
        cwd: str = "",
        touch_interval: float = DEFAULT_TOUCH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.thread_id = thread_id
        self.touch_interval = touch_interval
        self._clock = clock
        self._now = now
        self._cwd_seen = bool(cwd)
        self._preview_seen = False
        self._first_user_message_seen = False
        self._title_seen = False
        self._pending: ThreadMetadataPatch | None = None
        self._generation = 0
        self._last_touch_persisted_at: float | None = None
        self._defer_create_update = False
        self._defer_resume_update = False

    # -- construction ----------------------------------------------------------------------------

    @classmethod
    def for_create(
        cls,
        params: CreateThreadParams,
        *,
        touch_interval: float = DEFAULT_TOUCH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
    ) -> ThreadMetadataSync:
        """The state of a brand-new thread: its creation facts (provider, created/updated time,
        source, cwd, cli version, subagent identity) pending at generation 1, deferred until the
        first append."""
        sync = cls(params.thread_id, cwd=params.cwd, touch_interval=touch_interval, clock=clock, now=now)
        stamp = now()
        fields: dict[str, Any] = {
            "model_provider": params.model_provider,
            "created_at": stamp,
            "updated_at": stamp,
            "source": params.source,
            "cwd": params.cwd,
            **_spawn_agent_fields(params.source),
        }
        if params.cli_version:
            fields["cli_version"] = params.cli_version
        sync._merge(ThreadMetadataPatch(**fields))
        sync._defer_create_update = True
        return sync

    @classmethod
    def for_resume(
        cls,
        thread_id: str,
        *,
        cwd: str | None = None,
        history: Sequence[Item] | None = None,
        touch_interval: float = DEFAULT_TOUCH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
    ) -> ThreadMetadataSync:
        """The state of a resumed thread, seeded from its history (no ``updated_at``); what the
        history yields stays pending, deferred until the first append."""
        sync = cls(thread_id, cwd=cwd or "", touch_interval=touch_interval, clock=clock, now=now)
        if history:
            patch = sync._observe(history, stamp=None)
            if not patch.is_empty():
                sync._merge(patch)
                sync._defer_resume_update = True
        return sync

    # -- observing ---------------------------------------------------------------------------------

    def observe_append(self, items: Iterable[Mapping[str, Any]]) -> PendingMetadataUpdate | None:
        """Observe items just accepted into history; return the update to apply now, or None when
        a touch is coalesced (it stays pending for the next barrier)."""
        self._defer_create_update = False
        self._defer_resume_update = False
        batch = list(items)
        affects = any(item_affects_metadata(item) for item in batch)
        stamp = self._now()
        patch = self._observe(batch, stamp=stamp) if affects else ThreadMetadataPatch(updated_at=stamp)
        self._merge(patch)
        if not affects and not self._pending_has_facts() and self._touched_recently():
            return None
        return self.take_pending_update()

    def _touched_recently(self) -> bool:
        last = self._last_touch_persisted_at
        return last is not None and self._clock() - last < self.touch_interval

    def _pending_has_facts(self) -> bool:
        return self._pending is not None and not self._pending.without("updated_at").is_empty()

    def _merge(self, patch: ThreadMetadataPatch) -> None:
        self._pending = patch if self._pending is None else self._pending.merge(patch)
        self._generation += 1

    def _observe(self, items: Iterable[Mapping[str, Any]], *, stamp: datetime | None) -> ThreadMetadataPatch:
        changes: dict[str, Any] = {}
        for item in items:
            payload = item.get("payload")
            if not isinstance(payload, Mapping):
                continue
            kind = item.get("type")
            if kind == "session_meta":
                self._observe_session_meta(payload, changes)
            elif kind == "turn_context":
                self._observe_turn_context(payload, changes)
            elif kind == "event_msg":
                self._observe_event(item, payload, changes)
        if stamp is not None:
            changes["updated_at"] = stamp
        return ThreadMetadataPatch(**changes)

    def _observe_session_meta(self, meta: Mapping[str, Any], changes: dict[str, Any]) -> None:
        if meta.get("id") != self.thread_id:
            return  # copied from a fork parent
        created = parse_timestamp(meta.get("timestamp"))
        if created is not None:
            changes["created_at"] = created
        source = meta.get("source")
        if (isinstance(source, str) and source) or (isinstance(source, dict) and source):
            changes["source"] = source
        for name in ("thread_source", "agent_nickname", "agent_role", "agent_path"):
            if name in meta:
                value = meta.get(name)
                if isinstance(value, str):
                    changes[name] = value
                elif value is None:
                    changes[name] = None
        for name in ("model_provider", "cli_version"):
            value = meta.get(name)
            if isinstance(value, str) and value:
                changes[name] = value
        cwd = meta.get("cwd")
        if isinstance(cwd, str) and cwd:
            changes["cwd"] = cwd
            self._cwd_seen = True

    def _observe_turn_context(self, ctx: Mapping[str, Any], changes: dict[str, Any]) -> None:
        cwd = ctx.get("cwd")
        if not self._cwd_seen and isinstance(cwd, str) and cwd:
            changes["cwd"] = cwd
            self._cwd_seen = True
        model = ctx.get("model")
        if isinstance(model, str) and model:
            changes["model"] = model
        if "effort" in ctx:
            effort = ctx.get("effort")
            changes["reasoning_effort"] = effort if isinstance(effort, str) else None
        approval = ctx.get("approval_policy")
        if isinstance(approval, str):
            changes["approval_mode"] = approval
        if "sandbox_policy" in ctx:
            changes["sandbox_policy"] = ctx.get("sandbox_policy")

    def _observe_event(self, item: Mapping[str, Any], payload: Mapping[str, Any], changes: dict[str, Any]) -> None:
        user = user_event_text(item)
        if user is not None:
            text, images = user
            preview = preview_text(text, images)
            if preview:
                if not self._first_user_message_seen:
                    changes["first_user_message"] = preview
                    self._first_user_message_seen = True
                if not self._preview_seen:
                    changes["preview"] = preview
                    self._preview_seen = True
            title = _strip_marker(text)
            if title and not self._title_seen:
                changes["title"] = title
                self._title_seen = True
            return
        kind = payload.get("type")
        if kind == "token_count":
            info = payload.get("info")
            if isinstance(info, Mapping):
                usage = TokenUsage.from_json(info.get("total_token_usage"))
                if usage is not None:
                    changes["token_usage"] = usage
        elif kind == "thread_goal_updated" and not self._preview_seen:
            goal = payload.get("goal")
            objective = goal.get("objective") if isinstance(goal, Mapping) else None
            if isinstance(objective, str) and objective.strip():
                changes["preview"] = objective.strip()
                self._preview_seen = True

    # -- pending update ------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """Incremented by every merge into the pending patch."""
        return self._generation

    @property
    def deferred(self) -> bool:
        """True while the pending patch waits for history to exist (create) or for the first
        append (resume)."""
        return self._defer_create_update or self._defer_resume_update

    @property
    def has_pending(self) -> bool:
        return self._pending is not None

    def take_pending_update(self) -> PendingMetadataUpdate | None:
        """A copy of the pending patch, deferred or not; the patch stays pending (for retries)
        until :meth:`mark_pending_update_applied`."""
        if self._pending is None:
            return None
        return PendingMetadataUpdate(self._pending, self._generation)

    def take_pending_update_for_existing_history(self) -> PendingMetadataUpdate | None:
        """Like :meth:`take_pending_update`, but None while the patch is deferred."""
        if self.deferred:
            return None
        return self.take_pending_update()

    def mark_pending_update_applied(self, update: PendingMetadataUpdate) -> None:
        """Record that ``update`` reached the store: clear the pending patch if nothing merged
        into it since, and remember when a touch (``updated_at``) was last persisted."""
        if self._pending is not None and update.generation == self._generation:
            self._pending = None
        if update.patch.updated_at is not UNSET:
            self._last_touch_persisted_at = self._clock()
