"""ThreadMetadataSync derivation rules (codex-thread-store §3.2 and its tests 8-13)."""

from __future__ import annotations

from datetime import UTC, datetime

from threadstore import items
from threadstore.ids import new_thread_id
from threadstore.runtime.metadata_sync import ThreadMetadataSync, item_affects_metadata, preview_text
from threadstore.store.patch import UNSET
from threadstore.store.types import CreateThreadParams, TokenUsage


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _history(thread_id: str) -> list[dict[str, object]]:
    return [
        items.session_meta(
            thread_id, timestamp="2025-01-03T17:00:00.000Z", cwd="/repo", model_provider="test-provider"
        ),
        items.user_response_message("hello there"),
        items.user_message("hello there"),
        items.agent_message("hi"),
    ]


def test_resume_history_yields_deferred_patch_without_updated_at() -> None:
    tid = new_thread_id()
    sync = ThreadMetadataSync.for_resume(tid, cwd="/repo", history=_history(tid))
    update = sync.take_pending_update()
    assert update is not None
    patch = update.patch
    assert patch.created_at == datetime(2025, 1, 3, 17, 0, tzinfo=UTC)
    assert patch.preview == "hello there"
    assert patch.title == "hello there"
    assert patch.first_user_message == "hello there"
    assert patch.model_provider == "test-provider"
    assert patch.updated_at is UNSET
    # Taking does not clear; marking applied does.
    assert sync.take_pending_update() == update
    sync.mark_pending_update_applied(update)
    assert sync.take_pending_update() is None


def test_goal_before_user_message_wins_the_preview() -> None:
    tid = new_thread_id()
    sync = ThreadMetadataSync.for_resume(tid, history=[])
    update = sync.observe_append(
        [
            items.event("thread_goal_updated", goal={"objective": "  ship the release  "}),
            items.user_message("first real message"),
        ]
    )
    assert update is not None
    assert update.patch.preview == "ship the release"
    assert update.patch.title == "first real message"
    assert update.patch.first_user_message == "first real message"


def test_after_resume_metadata_applied_later_messages_only_touch() -> None:
    tid = new_thread_id()
    sync = ThreadMetadataSync.for_resume(tid, history=_history(tid))
    first = sync.observe_append([items.user_message("second message")])
    assert first is not None
    sync.mark_pending_update_applied(first)
    later = sync.observe_append([items.user_message("third message")])
    assert later is not None
    present = later.patch.present()
    assert "preview" not in present
    assert "title" not in present
    assert "first_user_message" not in present
    assert later.patch.updated_at is not UNSET


def test_irrelevant_items_touch_then_coalesce_within_window() -> None:
    clock = Clock()
    sync = ThreadMetadataSync(new_thread_id(), clock=clock, touch_interval=5.0)
    first = sync.observe_append([items.compacted("summary")])
    assert first is not None
    assert set(first.patch.present()) == {"updated_at"}
    sync.mark_pending_update_applied(first)
    clock.t += 1.0
    assert sync.observe_append([items.compacted("again")]) is None
    # still pending for the next barrier
    pending = sync.take_pending_update_for_existing_history()
    assert pending is not None
    assert pending.generation == 2
    clock.t += 10.0
    assert sync.observe_append([items.agent_message("out of the window")]) is not None


def test_turn_started_advances_updated_at() -> None:
    # ThreadMetadataPatch has no recency field: a turn start is a touch (updated_at).
    sync = ThreadMetadataSync(new_thread_id())
    update = sync.observe_append([items.task_started(new_thread_id())])
    assert update is not None
    assert set(update.patch.present()) == {"updated_at"}


def test_resume_only_metadata_waits_for_first_append() -> None:
    tid = new_thread_id()
    sync = ThreadMetadataSync.for_resume(tid, history=_history(tid))
    assert sync.deferred
    assert sync.take_pending_update_for_existing_history() is None
    update = sync.observe_append([items.agent_message("more")])
    assert update is not None
    assert update.patch.preview == "hello there"  # flushed together with the append metadata
    assert update.patch.updated_at is not UNSET
    assert not sync.deferred


def test_create_patch_is_deferred_until_history_exists() -> None:
    params = CreateThreadParams(thread_id=new_thread_id(), cwd="/repo", model_provider="prov", cli_version="1.2.3")
    sync = ThreadMetadataSync.for_create(params)
    assert sync.generation == 1
    assert sync.take_pending_update_for_existing_history() is None
    pending = sync.take_pending_update()
    assert pending is not None
    assert pending.patch.model_provider == "prov"
    assert pending.patch.cwd == "/repo"
    assert pending.patch.cli_version == "1.2.3"
    assert pending.patch.source == "cli"
    assert pending.patch.created_at is not UNSET
    update = sync.observe_append([items.user_message("go")])
    assert update is not None
    assert update.generation == 2
    assert update.patch.model_provider == "prov"
    assert update.patch.preview == "go"


def test_generation_guard_keeps_concurrent_merges() -> None:
    sync = ThreadMetadataSync(new_thread_id())
    first = sync.observe_append([items.user_message("one")])
    assert first is not None
    second = sync.observe_append([items.token_count({"input_tokens": 3, "total_tokens": 3})])
    assert second is not None
    sync.mark_pending_update_applied(first)  # stale generation: pending stays
    pending = sync.take_pending_update()
    assert pending is not None
    assert pending.patch.token_usage == TokenUsage(input_tokens=3, total_tokens=3)
    sync.mark_pending_update_applied(second)
    assert sync.take_pending_update() is None


def test_turn_context_cwd_first_wins_and_model_latest() -> None:
    sync = ThreadMetadataSync(new_thread_id())
    update = sync.observe_append(
        [
            items.turn_context(cwd="/a", model="m1", effort="high"),
            items.turn_context(cwd="/b", model="m2"),
        ]
    )
    assert update is not None
    assert update.patch.cwd == "/a"
    assert update.patch.model == "m2"
    assert update.patch.reasoning_effort == "high"
    assert update.patch.approval_mode == "never"


def test_session_meta_of_fork_parent_is_ignored() -> None:
    tid = new_thread_id()
    sync = ThreadMetadataSync(tid, cwd="/mine")
    parent = items.session_meta(new_thread_id(), timestamp="2020-01-01T00:00:00Z", cwd="/parent", model_provider="x")
    update = sync.observe_append([parent])
    assert update is not None
    assert update.patch.created_at is UNSET
    assert update.patch.model_provider is UNSET
    assert update.patch.cwd is UNSET


def test_preview_text_rules() -> None:
    assert preview_text("noise ## My request for Codex:  do it ", False) == "do it"
    assert preview_text("  ", True) == "[Image]"
    assert preview_text("", False) == ""
    assert item_affects_metadata(items.user_message("x"))
    assert not item_affects_metadata(items.agent_message("x"))
