"""``ThreadSession`` under the Agents SDK's own Runner (run, run_sync, run_streamed) with an
offline model, on memory, local, PostgreSQL and a gRPC server: multi-turn with tool calls,
``session_settings.limit``, unicode, pop and clear as recorded markers every reader honours, the
session as an ordinary thread (listed, searched, shown, copied), tail reads."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, Runner, SessionSettings, function_tool

from threadstore import (
    InMemoryThreadStore,
    ListThreadsParams,
    LoadThreadHistoryParams,
    ReadThreadParams,
    SearchThreadsParams,
    ThreadStore,
)
from threadstore._view.transcript import transcript
from threadstore.integrations.openai_agents import SESSION_ID_LABEL, ThreadSession, session_thread_id
from threadstore.transfer import copy_thread

from .conftest import Target, plain, url_of
from .fake_model import FakeModel, call, say


@function_tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _tool_then_answer(answer: str) -> list[Any]:
    return [lambda history: [call("weather", city="Zürich")], lambda history: [say(answer)]]


def _text(item: dict[str, Any]) -> str:
    content = item.get("content")
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content or ())


async def _thread_history(store: ThreadStore, thread_id: str) -> list[dict[str, Any]]:
    return (await store.load_history(LoadThreadHistoryParams(thread_id))).items


async def test_runner_keeps_a_multi_turn_session_with_tool_calls(target: Target) -> None:
    session = ThreadSession("user-1", target.store, cwd="/srv/app")
    model = FakeModel([*_tool_then_answer("It is sunny in Zürich."), lambda h: [say("You are welcome.")]])
    agent = Agent(name="assistant", model=model, tools=[weather])
    first = await Runner.run(agent, "What is the weather in Zürich?", session=session)
    assert first.final_output == "It is sunny in Zürich."
    second = await Runner.run(agent, "Thanks!", session=session)
    assert second.final_output == "You are welcome."
    # The second model call saw the whole first turn (tool call and output included).
    seen = model.inputs[-1]
    assert [i.get("type", "message") for i in seen] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
        "message",
    ]
    assert seen[2]["output"] == "sunny in Zürich"
    stored = plain(await session.get_items())
    assert stored == [*seen, second.new_items[-1].to_input_item()]
    # Another session object (another worker) reads the same history.
    assert plain(await ThreadSession("user-1", target.store).get_items()) == stored
    # The session is an ordinary thread: listed with its preview and label, searched, shown.
    listed = await target.store.list_threads(ListThreadsParams(labels={SESSION_ID_LABEL: "user-1"}))
    assert [t.thread_id for t in listed.items] == [session.thread_id]
    thread = listed.items[0]
    assert thread.preview == "What is the weather in Zürich?"
    assert thread.cwd == "/srv/app"
    assert thread.model_provider == "openai"
    assert thread.source == {"custom": "openai_agents"}
    found = await target.store.search_threads(SearchThreadsParams("sunny in zürich"))
    assert [hit.thread.thread_id for hit in found.items] == [session.thread_id]
    entries = transcript(await _thread_history(target.store, session.thread_id))
    assert [(e.kind, e.text) for e in entries if e.kind in ("user", "agent")] == [
        ("user", "What is the weather in Zürich?"),
        ("agent", "It is sunny in Zürich."),
        ("user", "Thanks!"),
        ("agent", "You are welcome."),
    ]
    assert any(e.kind == "tool" and e.name == "weather" and e.output == "sunny in Zürich" for e in entries)


async def test_run_streamed(target: Target) -> None:
    session = ThreadSession("streamed", target.store)
    agent = Agent(name="assistant", model=FakeModel(_tool_then_answer("Streamed answer.")), tools=[weather])
    for text in ("first question", "second question"):
        result = Runner.run_streamed(agent, text, session=session)
        async for _ in result.stream_events():
            pass
    items = plain(await session.get_items())
    assert [i.get("role") for i in items if i.get("type", "message") == "message"] == [
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    assert items[-1]["content"][0]["text"] == "echo: second question"
    assert sum(1 for i in items if i.get("type") == "function_call_output") == 1


@pytest.mark.parametrize("kind", ["memory", "local", "postgres", "server"])
def test_run_sync(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # run_sync runs every call in an event loop of its own: a session given a URL opens the
    # store once per loop (a memory: URL keeps one store, or each run would start empty).
    url = url_of(kind, tmp_path, request)
    session = ThreadSession("sync user", url)
    agent = Agent(name="assistant", model=FakeModel(_tool_then_answer("Sync answer.")), tools=[weather])
    assert Runner.run_sync(agent, "one", session=session).final_output == "Sync answer."
    assert Runner.run_sync(agent, "two", session=session).final_output == "echo: two"
    items = plain(asyncio.run(session.get_items()))
    assert [i["content"] for i in items if i.get("role") == "user"] == ["one", "two"]
    asyncio.run(session.close())


async def test_session_settings_limit_bounds_the_history_the_model_sees(target: Target) -> None:
    session = ThreadSession("limited", target.store, session_settings=SessionSettings(limit=3))
    model = FakeModel()
    agent = Agent(name="assistant", model=model)
    for n in range(4):
        await Runner.run(agent, f"question {n}", session=session)
    full = plain(await ThreadSession("limited", target.store).get_items())
    assert len(full) == 8
    # The last run's model saw three items of history (the answer of turn 1, turn 2), then its input.
    assert [_text(item) for item in model.inputs[-1]] == ["echo: question 1", "question 2", "echo: question 2", "question 3"]
    assert [_text(item) for item in full[3:7]] == ["echo: question 1", "question 2", "echo: question 2", "question 3"]
    assert plain(await session.get_items(limit=1)) == (plain(await session.get_items(limit=None)))[-1:]
    assert plain(await session.get_items(limit=0)) == []
    assert plain(await ThreadSession("limited", target.store, session_settings={"limit": 2}).get_items()) == (
        plain(await session.get_items(limit=None))
    )[-2:]


ITEMS: list[Any] = [
    {"role": "user", "content": "Grüße aus Köln 👋 — 你好, مرحبا, \u00e9\u0301"},
    {"role": "system", "content": "Be terse."},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "typed 🐍"}]},
    {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "thinking…"}]},
    {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"x": "ü"}', "id": "fc1"},
    {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "ok"}]},
    {"type": "some_future_item", "nested": {"deep": [1, 2.5, None, True, {"k": "v"}]}, "big": 2**53},
    {
        "type": "message",
        "role": "assistant",
        "id": "m1",
        "status": "completed",
        "content": [{"type": "output_text", "text": "Ünïcødé answer", "annotations": [], "logprobs": []}],
    },
]


async def test_items_come_back_exactly_as_given(target: Target) -> None:
    session = ThreadSession("exact ✓", target.store)
    given = copy.deepcopy(ITEMS)
    await session.add_items(given)
    given[0]["content"] = "changed after the call"  # the session keeps its own copy
    assert plain(await session.get_items()) == ITEMS
    assert plain(await session.get_items(limit=3)) == ITEMS[-3:]
    thread = await target.store.read_thread(ReadThreadParams(session.thread_id))
    assert thread.preview == ITEMS[0]["content"]  # an "easy" message is a user message to our readers
    found = await target.store.search_threads(SearchThreadsParams("KÖLN"))
    assert [h.thread.thread_id for h in found.items] == [session.thread_id]
    entries = transcript(await _thread_history(target.store, session.thread_id), include_hidden=True)
    assert ("user", ITEMS[0]["content"]) in [(e.kind, e.text) for e in entries]
    assert ("system", "Be terse.") in [(e.kind, e.text) for e in entries]


async def test_pop_and_clear_are_recorded_and_honoured(target: Target) -> None:
    store = target.store
    session = ThreadSession("editing", store)
    assert await session.pop_item() is None  # an empty session: nothing popped, nothing created
    assert await store.list_threads(ListThreadsParams()) == (await store.list_threads(ListThreadsParams()))
    await session.add_items([{"role": "user", "content": "keep this"}, {"role": "assistant", "content": "kept"}])
    await session.add_items([{"role": "user", "content": "platypus secret"}, {"role": "assistant", "content": "ok"}])
    assert await session.pop_item() == {"role": "assistant", "content": "ok"}
    assert await session.pop_item() == {"role": "user", "content": "platypus secret"}
    assert plain(await session.get_items()) == [
        {"role": "user", "content": "keep this"},
        {"role": "assistant", "content": "kept"},
    ]
    assert plain(await session.get_items(limit=1)) == [{"role": "assistant", "content": "kept"}]
    lines = await _thread_history(store, session.thread_id)
    assert sum(1 for line in lines if "platypus" in str(line)) == 2  # nothing rewritten in place
    assert [line["payload"]["type"] for line in lines if line["type"] == "event_msg"][-2:] == [
        "thread_items_popped",
        "thread_items_popped",
    ]
    assert (await store.search_threads(SearchThreadsParams("platypus"))).items == []
    shown = [e.text for e in transcript(lines)]
    assert "platypus secret" not in shown
    assert "removed the last 1 item" in shown
    # A copy carries the lines, so it reads the same.
    other = InMemoryThreadStore()
    outcome = await copy_thread(store, other, session.thread_id)
    assert outcome.status == "copied", outcome
    assert plain(await ThreadSession("editing", other).get_items()) == plain(await session.get_items())
    # Clear: nothing left for any reader; the thread leaves listings until a new user message.
    await session.clear_session()
    assert plain(await session.get_items()) == []
    assert await session.pop_item() is None
    assert session.thread_id not in [t.thread_id for t in (await store.list_threads(ListThreadsParams())).items]
    assert (await store.search_threads(SearchThreadsParams("keep this"))).items == []
    await session.add_items([{"role": "user", "content": "a fresh start"}])
    thread = await store.read_thread(ReadThreadParams(session.thread_id))
    assert thread.preview == "a fresh start"
    assert plain(await session.get_items()) == [{"role": "user", "content": "a fresh start"}]


async def test_session_ids_map_to_thread_ids(target: Target) -> None:
    assert session_thread_id("user-1") == session_thread_id("user-1") != session_thread_id("user-2")
    odd = ["", " ", "ü/../x", "a" * 5000, "line\nbreak", "😀" * 10]
    for session_id in odd:
        session = ThreadSession(session_id, target.store)
        await session.add_items([{"role": "user", "content": f"hello {len(session_id)}"}])
        assert plain(await ThreadSession(session_id, target.store).get_items()) == [
            {"role": "user", "content": f"hello {len(session_id)}"}
        ]
    listed = await target.store.list_threads(ListThreadsParams(labels={SESSION_ID_LABEL: "😀" * 10}))
    assert [t.thread_id for t in listed.items] == [session_thread_id("😀" * 10)]
    long = await target.store.read_thread(ReadThreadParams(session_thread_id("a" * 5000)))
    assert SESSION_ID_LABEL not in long.labels  # too long for a label; the thread id still maps


class CountingStore:
    """Records every history read a store is asked for (to prove reads stay in the tail)."""

    def __init__(self, store: ThreadStore) -> None:
        self.tails: list[int | None] = []
        original = store.load_history

        async def load_history(params: LoadThreadHistoryParams) -> Any:
            self.tails.append(params.tail)
            return await original(params)

        store.load_history = load_history  # type: ignore[method-assign]


async def test_a_limit_reads_only_the_tail(target: Target) -> None:
    session = ThreadSession("long", target.store)
    batch = [{"role": "user" if n % 2 == 0 else "assistant", "content": f"item {n}"} for n in range(100)]
    for _ in range(5):
        await session.add_items(batch)
    await session.pop_item()
    counting = CountingStore(target.store)
    last = plain(await session.get_items(limit=5))
    assert [i["content"] for i in last] == [f"item {n}" for n in range(94, 99)]
    assert counting.tails
    assert all(t is not None and t < 100 for t in counting.tails)


async def test_the_command_line_shows_lists_and_searches_a_session(tmp_path: Path) -> None:
    from tests.cli.helpers import invoke

    url = f"local:{tmp_path / 'home'}"
    session = ThreadSession("cli user", url)
    await session.add_items([{"role": "user", "content": "Where is the wombat burrow?"}])
    await session.add_items([{"role": "assistant", "content": "Under the gum tree."}])
    await session.add_items([{"role": "user", "content": "platypus question"}])
    await session.pop_item()
    await session.close()
    code, out, err = await asyncio.to_thread(invoke, url, "show", session.thread_id)
    assert code == 0, err
    assert "Where is the wombat burrow?" in out
    assert "Under the gum tree." in out
    assert "platypus" not in out
    code, out, err = await asyncio.to_thread(invoke, url, "list", "--label", f"{SESSION_ID_LABEL}=cli user")
    assert code == 0, err
    assert "Where is the wombat burrow?" in out
    code, out, err = await asyncio.to_thread(invoke, url, "search", "gum tree")
    assert code == 0, err
    assert session.thread_id[:8] in out
