"""The turn index (``threadstore._rollout.turn_index``) against the whole-history turn builder.

However a history is cut into appends, and whatever rollback markers it holds, the turns built
span by span from the index equal the turns built from the whole history, and each span's item
counts are those turns' item counts."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadstore._rollout.items import (
    Item,
    agent_message,
    event,
    task_complete,
    task_started,
    thread_rolled_back,
    turn_aborted,
    user_message,
    user_response_message,
)
from threadstore._rollout.turn_index import (
    IndexHead,
    Record,
    TurnIndexer,
    TurnSpan,
    build_spans,
    drive,
    effective_ranges,
)
from threadstore._rollout.turns import build_stored_turns


class _Index:
    """An index over a growing in-memory history, stored as a storage backend would store it:
    the head and the spans, of which an update gets only the last one."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.head = IndexHead()
        self.spans: list[TurnSpan] = []
        self.loads = 0

    async def _read(self, ranges: list[tuple[int, int]]) -> list[Record]:
        return [(o, self.items[o], None) for lo, hi in ranges for o in range(lo, hi)]

    async def _load(self, before: int) -> list[TurnSpan]:
        self.loads += 1
        return copy.deepcopy(self.spans[:before])

    async def append(self, new: list[Item], batches: int) -> None:
        start = len(self.items)
        self.items.extend(new)
        indexer = TurnIndexer(copy.deepcopy(self.head), copy.deepcopy(self.spans[-1:]))
        await drive(indexer.start(), self._read, self._load)
        records = [(o, self.items[o], None) for o in range(start, len(self.items))]
        size = max(1, len(records) // max(1, batches))
        for lo in range(0, len(records), size):
            await drive(indexer.feed(records[lo : lo + size]), self._read, self._load)
        indexer.finish()
        self.head = indexer.head
        self.spans[indexer.dirty_from :] = [s for s in indexer.spans if s.seq >= indexer.dirty_from]
        assert [s.seq for s in self.spans] == list(range(len(self.spans)))
        assert self.head.turns == len(self.spans)

    async def turns(self) -> list[Any]:
        ranges = [r for span in self.spans for r in effective_ranges(span.first, span.end, self.head.removed)]
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(ranges):
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        return build_spans(self.spans, await self._read(merged))


def _completed(turn: str, kind: str, item_id: str, text: str) -> Item:
    if kind == "UserMessage":
        body: dict[str, Any] = {"type": kind, "id": item_id, "content": [{"type": "text", "text": text}]}
    else:
        body = {"type": kind, "id": item_id, "content": [{"type": "Text", "text": text}]}
    return event("item_completed", thread_id="t", turn_id=turn, item=body)


_STEPS = st.lists(
    st.sampled_from(
        [
            "start",
            "start",
            "complete",
            "abort",
            "user",
            "user",
            "agent",
            "reasoning",
            "completed_user",
            "completed_agent",
            "error",
            "rollback1",
            "rollback2",
            "rollback0",
            "compacted",
            "noise",
        ]
    ),
    max_size=60,
)


def _history(steps: list[str]) -> list[Item]:
    out: list[Item] = []
    turn = 0
    for n, step in enumerate(steps):
        if step == "start":
            turn += 1
            out.append(task_started(f"t{turn}", started_at=n))
        elif step == "complete":
            out.append(task_complete(f"t{turn}", None, completed_at=n, duration_ms=1))
        elif step == "abort":
            out.append(turn_aborted(f"t{turn}", "interrupted"))
        elif step == "user":
            out += [user_response_message(f"q{n}"), user_message(f"q{n}")]
        elif step == "agent":
            out.append(agent_message(f"a{n}"))
        elif step == "reasoning":
            out.append(event("agent_reasoning", text=f"r{n}"))
        elif step == "completed_user":
            out.append(_completed(f"t{turn}", "UserMessage", f"u{n}", f"q{n}"))
        elif step == "completed_agent":
            out.append(_completed(f"t{turn}", "AgentMessage", f"m{n}", f"a{n}"))
        elif step == "error":
            out.append(event("error", message="boom", codex_error_info="internal_server_error"))
        elif step.startswith("rollback"):
            out.append(thread_rolled_back(int(step[-1])))
        elif step == "compacted":
            out.append(event("context_compacted"))
        else:
            out.append(event("token_count", info=None))
    return out


async def _check(history: list[Item], cuts: list[int], batches: int) -> _Index:
    index = _Index()
    previous = 0
    for cut in [*sorted(c % (len(history) + 1) for c in cuts), len(history)]:
        await index.append(history[previous:cut], batches)
        previous = max(previous, cut)
        expected = build_stored_turns(index.items)
        built = await index.turns()
        assert [b.turn for b in built] == expected
        assert [s.item_count for s in index.spans] == [len(t.items) for t in expected]
        assert [s.items_before for s in index.spans] == [
            sum(len(t.items) for t in expected[:i]) for i in range(len(expected))
        ]
    return index


@settings(max_examples=300, deadline=None)
@given(steps=_STEPS, cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=6), batches=st.integers(1, 4))
def test_index_builds_the_turns_of_the_whole_history(steps: list[str], cuts: list[int], batches: int) -> None:
    asyncio.run(_check(_history(steps), cuts, batches))


def test_a_rollback_reaching_back_loads_the_earlier_spans_once() -> None:
    history = _history(["start", "user", "agent", "complete"] * 5)
    rolled = [*history, thread_rolled_back(3), *_history(["start", "user", "agent", "complete"])]

    async def run() -> None:
        index = await _check(history, [], 1)
        assert index.loads == 0
        await index.append(rolled[len(history) :], 1)
        assert index.loads == 1
        assert [b.turn for b in await index.turns()] == build_stored_turns(rolled)
        assert len(index.spans) == 3

    asyncio.run(run())


def test_an_update_reads_only_the_open_turn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    history = _history(["start", "user", "agent", "complete"] * 50 + ["start", "user"])

    async def run() -> None:
        index = _Index()
        await index.append(history, 1)
        read: list[list[tuple[int, int]]] = []
        original = index._read

        async def counting(ranges: list[tuple[int, int]]) -> list[Record]:
            read.append(ranges)
            return await original(ranges)

        monkeypatch.setattr(index, "_read", counting)
        await index.append([agent_message("more")], 1)
        open_turn = index.spans[-1]
        assert read == [[(open_turn.first, len(history))]]
        assert len(history) - open_turn.first == 3  # task_started, the two user records

    asyncio.run(run())
