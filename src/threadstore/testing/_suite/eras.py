"""Lines in the format of their thread's era: exact appends, paginated history (ordinals and
``item_completed`` events), and legacy threads left as they were."""

from __future__ import annotations

from typing import Any

import pytest

from threadstore._contract.base import ThreadStore
from threadstore._contract.patch import ThreadMetadataPatch, UpdateThreadMetadataParams
from threadstore._contract.types import (
    AppendThreadItemsParams,
    LoadThreadHistoryParams,
    ReadThreadParams,
    ResumeThreadParams,
)
from threadstore._rollout.items import Item, event, item_completed, session_meta, user_message
from threadstore.errors import InvalidRequest
from threadstore.testing._builders import append, create_params, new_thread

T0 = "2031-05-06T07:08:09.010Z"
T1 = "2031-05-06T07:08:10.011Z"


def _paginated_lines(thread_id: str) -> list[Item]:
    """The start of a paginated thread as Codex 0.169 writes it (fields trimmed)."""
    meta = session_meta(thread_id, timestamp=T0, cwd="/srv/p", session_id=thread_id, history_mode="paginated")
    turn_id = "01a211bf-a21a-74c0-81f7-26089962048a"
    said = {"type": "UserMessage", "id": "u1", "content": [{"type": "text", "text": "hi", "text_elements": []}]}
    return [
        {"timestamp": T0, "ordinal": 0, **meta},
        {"timestamp": T0, "ordinal": 1, **event("thread_settings_applied", thread_id=thread_id)},
        {"timestamp": T1, "ordinal": 2, **item_completed(thread_id, turn_id, said, at_ms=1)},
        {"timestamp": T1, "ordinal": 3, "type": "world_state", "payload": {"full": True}},
        {
            "timestamp": T1,
            "ordinal": 4,
            "type": "response_item",
            "payload": {"type": "message", "role": "user", "content": []},
            "metadata": {"history_sequence": 3},
        },
    ]


async def _lines(store: ThreadStore, thread_id: str) -> list[Item]:
    history = await store.load_history(LoadThreadHistoryParams(thread_id, include_archived=True, resolve_forks=False))
    return history.lines()


async def _write_exact(store: ThreadStore, thread_id: str, lines: list[Item]) -> None:
    await store.create_thread(create_params(thread_id))
    await store.append_items(AppendThreadItemsParams(thread_id, lines, exact=True))
    await store.shutdown_thread(thread_id)


async def _paginated_thread(store: ThreadStore) -> tuple[str, list[Item]]:
    """A new paginated thread (shut down) and its lines."""
    thread_id = create_params().thread_id
    lines = _paginated_lines(thread_id)
    await _write_exact(store, thread_id, lines)
    return thread_id, lines


class EraTests:
    """See the module documentation."""

    async def test_exact_appends_keep_every_line_as_given(self, store: ThreadStore) -> None:
        thread_id = create_params().thread_id
        lines = _paginated_lines(thread_id)
        unknown = {"timestamp": T1, "ordinal": 5, **event("some_future_event", detail=[1, 2])}
        huge = {"timestamp": T1, "ordinal": 6, **event("exec_command_end", stdout="x" * 20_000, aggregated_output="y")}
        await _write_exact(store, thread_id, [*lines, unknown, huge])
        stored = await _lines(store, thread_id)
        assert stored == [*lines, unknown, huge]
        assert [list(line) for line in stored] == [list(line) for line in [*lines, unknown, huge]]  # key order
        thread = await store.read_thread(ReadThreadParams(thread_id))
        assert thread.history_mode == "paginated"

    async def test_appends_to_a_paginated_thread_are_numbered_and_keep_its_events(self, store: ThreadStore) -> None:
        thread_id, lines = await _paginated_thread(store)
        await store.resume_thread(ResumeThreadParams(thread_id))
        said = {"type": "AgentMessage", "id": "a1", "content": [{"type": "Text", "text": "ok"}]}
        completed = item_completed(thread_id, "t2", said, at_ms=2)
        await append(store, thread_id, [user_message("legacy event"), completed, event("agent_message_delta")])
        await append(store, thread_id, [{"timestamp": T1, **event("thread_settings_applied", thread_id=thread_id)}])
        await store.shutdown_thread(thread_id)
        stored = await _lines(store, thread_id)
        added = stored[len(lines) :]
        assert [line["ordinal"] for line in added] == [5, 6, 7]
        assert [list(line)[:3] for line in added] == [["timestamp", "ordinal", "type"]] * 3
        assert [line["payload"]["type"] for line in added] == [
            "user_message",
            "item_completed",
            "thread_settings_applied",
        ]
        assert added[1]["payload"] == completed["payload"]
        assert added[2]["timestamp"] == T1

    async def test_legacy_threads_keep_their_format(self, store: ThreadStore) -> None:
        thread_id = await new_thread(store, shutdown=False)
        said = {"type": "UserMessage", "id": "u1", "content": []}
        await append(store, thread_id, [item_completed(thread_id, "t", said, at_ms=1), user_message("plain")])
        await store.shutdown_thread(thread_id)
        stored = await _lines(store, thread_id)
        assert all("ordinal" not in line for line in stored)
        assert stored[-1]["payload"]["type"] == "user_message"
        assert not any(line["payload"].get("type") == "item_completed" for line in stored)
        thread = await store.read_thread(ReadThreadParams(thread_id))
        assert thread.history_mode == "legacy"

    async def test_renaming_a_paginated_thread_adds_no_line(self, store: ThreadStore) -> None:
        thread_id, lines = await _paginated_thread(store)
        patch = ThreadMetadataPatch(name="Named", memory_mode="disabled")
        renamed = await store.update_thread_metadata(UpdateThreadMetadataParams(thread_id, patch))
        assert (renamed.name, renamed.memory_mode) == ("Named", "disabled")
        assert await _lines(store, thread_id) == lines
        again = await store.read_thread(ReadThreadParams(thread_id))
        assert (again.name, again.memory_mode) == ("Named", "disabled")

    @pytest.mark.parametrize("bad", [-1, "3", 1.5, True, None, 2**63])
    async def test_bad_ordinals_are_refused(self, store: ThreadStore, bad: Any) -> None:
        thread_id = await new_thread(store, shutdown=False)
        with pytest.raises(InvalidRequest, match="ordinal"):
            await append(store, thread_id, [{"ordinal": bad, **user_message("x")}])
        await store.shutdown_thread(thread_id)
