"""``threadstore show``: a transcript people read, paged on a terminal; ``--json`` unchanged."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from threadstore import AppendThreadItemsParams, CreateThreadParams, ThreadStore, items, new_thread_id
from threadstore._cli import app, show

from .helpers import invoke, runner, with_store


async def seed(store: ThreadStore) -> str:
    tid = new_thread_id()
    await store.create_thread(
        CreateThreadParams(
            thread_id=tid,
            cwd="/srv/app",
            model_provider="openai",
            base_instructions="You are a careful agent.",
            event_persistence_mode="extended",
        )
    )
    await store.append_items(
        AppendThreadItemsParams(
            tid,
            [
                items.response_item("message", role="developer", content=[{"type": "input_text", "text": "be terse"}]),
                items.user_response_message("run the tests"),
                items.user_message("run the tests"),
                items.event("agent_reasoning", text="I should run pytest"),
                items.response_item(
                    "function_call", name="shell", arguments=json.dumps({"command": ["pytest", "-q"]}), call_id="c1"
                ),
                items.response_item("function_call_output", call_id="c1", output="1 passed\n2 failed\n"),
                items.agent_message("Two tests fail."),
                items.assistant_message("Two tests fail."),
            ],
        )
    )
    await store.shutdown_thread(tid)
    return tid


@pytest.fixture
def url(tmp_path: Path) -> str:
    (tmp_path / "home").mkdir()
    return f"local:{tmp_path / 'home'}"


def test_show_prints_a_transcript_with_tools_folded(url: str) -> None:
    tid = with_store(url, seed)
    code, out, err = invoke(url, "show", tid)
    assert code == 0, err
    assert out.startswith("run the tests\n")  # the title
    assert f"thread      {tid}\n" in out
    assert "turns       1 user message\n" in out
    assert "user\n  run the tests\n" in out
    assert "agent\n  Two tests fail.\n" in out
    assert "  · thinking: I should run pytest\n" in out
    assert "  ▸ shell  pytest -q  (2 lines of output)\n" in out  # one line, output folded
    assert "1 passed" not in out
    assert "careful agent" not in out  # the system prompt is hidden
    assert "be terse" not in out
    assert out.index("user\n  run the tests") < out.index("thinking") < out.index("▸ shell") < out.index("Two tests")


def test_show_all_adds_prompts_and_unfolds_tools(url: str) -> None:
    tid = with_store(url, seed)
    code, out, err = invoke(url, "show", tid, "--all")
    assert code == 0, err
    assert "system prompt\n  You are a careful agent.\n" in out
    assert "developer prompt\n  be terse\n" in out
    assert "    1 passed\n    2 failed\n" in out
    assert '{"command":["pytest","-q"]}' in out


def test_show_json_is_the_thread_as_before(url: str) -> None:
    tid = with_store(url, seed)
    code, out, _ = invoke(url, "show", tid, "--json")
    shown = json.loads(out)
    assert shown["thread_id"] == tid
    assert shown["history"] is None
    code, out, _ = invoke(url, "show", tid, "--json", "--history")
    assert code == 0
    history = json.loads(out)["history"]
    kinds = [i["type"] for i in history]
    assert kinds == [
        "session_meta",
        "response_item",
        "response_item",
        "event_msg",
        "event_msg",
        "response_item",
        "response_item",
        "event_msg",
        "response_item",
    ]


def test_show_pages_through_the_pager_on_a_terminal(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tid = with_store(url, seed)
    paged = tmp_path / "paged.txt"
    script = tmp_path / "pager.py"
    script.write_text(
        "import os, sys\nopen(sys.argv[1], 'w').write(os.environ.get('LESS', '') + '|' + sys.stdin.read())\n"
    )
    monkeypatch.setattr(show, "stdout_is_terminal", lambda: True)
    pager = f"{sys.executable} {script} {paged}"
    result = runner.invoke(app, ["--store", url, "show", tid], env={"THREADSTORE_PAGER": pager, "LESS": None})
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # everything went to the pager
    text = paged.read_text()
    assert text.startswith("FRX|")  # like git: quit if one screen, keep colours, no init
    assert "run the tests" in text
    assert "\x1b[" in text  # colours, for less -R

    paged.unlink()
    result = runner.invoke(app, ["--store", url, "show", tid, "--no-pager"], env={"THREADSTORE_PAGER": pager})
    assert "run the tests" in result.stdout
    assert not paged.exists()


def test_pager_choice() -> None:
    assert show.pager_command({}) == "less"
    assert show.pager_command({"PAGER": "more"}) == "more"
    assert show.pager_command({"PAGER": "more", "THREADSTORE_PAGER": "most"}) == "most"
    assert show.pager_command({"PAGER": ""}) is None
    assert show.pager_command({"THREADSTORE_PAGER": "cat", "PAGER": "less"}) is None


def test_show_of_an_empty_thread(url: str) -> None:
    async def empty(store: ThreadStore) -> str:
        tid = new_thread_id()
        await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="openai"))
        await store.persist_thread(tid)
        await store.shutdown_thread(tid)
        return tid

    tid = with_store(url, empty)
    code, out, _ = invoke(url, "show", tid)
    assert code == 0
    assert "(untitled)" in out
    assert "(nothing said yet)" in out


def test_a_long_command_is_cut_but_its_outcome_stays() -> None:
    import io
    from datetime import UTC, datetime

    from rich.console import Console

    from threadstore import StoredThread
    from threadstore._cli.transcript_text import render_thread
    from threadstore._view import Entry

    now = datetime(2026, 11, 30, tzinfo=UTC)
    thread = StoredThread(thread_id="01a211bf-81da-7c93-9c38-b2117fbac6d3", created_at=now, updated_at=now)
    tool = Entry("tool", "pytest " + "-k something " * 20, name="shell", output="a\nb\n", status="exit 1")
    buffer = io.StringIO()
    render_thread(Console(file=buffer, width=60), thread, [Entry("user", "go"), tool], show_all=False, now=now)
    lines = buffer.getvalue().splitlines()
    assert lines[-1].startswith("  ▸ shell  pytest -k something")
    assert lines[-1].endswith("…  (exit 1, 2 lines of output)")
    assert len(lines[-1]) <= 60
    assert lines[-2] == ""  # a blank line between the message and what the agent did
