"""``threadstore chat``: piped conversations, resuming, /quit, and an OpenAI-compatible model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from threadstore._rollout.items import Item

from ..peers.fake_responses import FakeResponsesServer
from .helpers import invoke, user_texts

THREAD_LINE = re.compile(r"thread ([0-9a-f-]{36}); resume with: threadstore --store \S+ chat \1")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"local:{tmp_path / 'home'}"


def thread_id_of(stderr: str) -> str:
    match = THREAD_LINE.search(stderr)
    assert match, stderr
    return match.group(1)


def agent_texts(history: list[Item]) -> list[str]:
    return [
        str(i["payload"]["message"])
        for i in history
        if i["type"] == "event_msg" and i["payload"]["type"] == "agent_message"
    ]


def show_history(url: str, thread_id: str) -> list[dict[str, object]]:
    code, out, err = invoke(url, "show", thread_id, "--history", "--json")
    assert code == 0, err
    result: list[Item] = json.loads(out)["history"]
    return result


def test_piped_chat_streams_answers_and_stores_both_turns(url: str, tmp_path: Path) -> None:
    code, out, err = invoke(url, "chat", "--cwd", str(tmp_path), input="hi\n\nthere\n")
    assert code == 0, err
    assert out == "echo: hi\necho: there\n"  # blank lines are not turns
    thread_id = thread_id_of(err)
    history = show_history(url, thread_id)
    assert user_texts(history) == ["hi", "there"]
    assert agent_texts(history) == ["echo: hi", "echo: there"]
    code, out, _ = invoke(url, "show", thread_id, "--json")
    shown = json.loads(out)
    assert shown["cwd"] == str(tmp_path)
    assert shown["model_provider"] == "builtin"


def test_chat_resumes_a_thread_and_stops_at_quit(url: str) -> None:
    code, _, err = invoke(url, "chat", input="first\n")
    assert code == 0, err
    thread_id = thread_id_of(err)
    code, out, err = invoke(url, "chat", thread_id, input="second\n/quit\nnever sent\n")
    assert code == 0, err
    assert out == "echo: second\n"
    assert thread_id_of(err) == thread_id
    history = show_history(url, thread_id)
    assert user_texts(history) == ["first", "second"]
    code, out, _ = invoke(url, "list", "--json")
    assert [t["thread_id"] for t in json.loads(out)["threads"]] == [thread_id]


def test_chat_without_input_stores_nothing(url: str) -> None:
    code, out, err = invoke(url, "chat", input="")
    assert code == 0, err
    assert out == ""
    assert "nothing was said" in err
    code, out, _ = invoke(url, "list", "--json")
    assert json.loads(out)["threads"] == []


def test_chat_errors_are_one_line(url: str) -> None:
    code, _, err = invoke(url, "chat", "01a211bf-84ac-7211-aa07-ea80033ee564", input="hi\n")
    assert code == 3  # not found
    assert err.startswith("error: ")
    assert "not found" in err
    assert err.count("\n") == 1
    code, _, err = invoke(url, "chat", "--model", "nosuch", input="hi\n")
    assert code == 2


def test_chat_with_a_responses_api_server(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_CHAT_KEY", "sk-test")
    with FakeResponsesServer() as server:
        args = ["--model", "openai", "--base-url", server.base_url, "--api-key-env", "TEST_CHAT_KEY"]
        code, out, err = invoke(url, "chat", *args, "--model-name", "test-model", input="hello\n")
        assert code == 0, err
        assert out == "echo: hello\n"
        thread_id = thread_id_of(err)
        requests = server.response_requests()
        assert len(requests) == 1
        assert requests[0].json_body["model"] == "test-model"
        assert requests[0].headers.get("authorization", requests[0].headers.get("Authorization")) == "Bearer sk-test"

        # Resume it, continuing with the built-in model instead: the history carries on.
        code, out, err = invoke(url, "chat", thread_id, input="offline now\n")
        assert code == 0, err
        assert out == "echo: offline now\n"
    assert user_texts(show_history(url, thread_id)) == ["hello", "offline now"]


def test_chat_as_a_piped_process(tmp_path: Path) -> None:
    store = f"local:{tmp_path / 'home'}"
    command = [sys.executable, "-m", "threadstore", "--store", store, "chat"]
    done = subprocess.run(command, input="hi\nthere\n", capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "echo: hi\necho: there\n"
    thread_id = thread_id_of(done.stderr)
    show = [sys.executable, "-m", "threadstore", "--store", store, "show", thread_id, "--history"]
    shown = subprocess.run(show, capture_output=True, text=True, timeout=60, check=True)
    assert "user\n  hi\n" in shown.stdout  # a transcript: each turn under its speaker
    assert "user\n  there\n" in shown.stdout
    assert shown.stdout.index("  hi\n") < shown.stdout.index("agent\n  echo: hi\n") < shown.stdout.index("  there\n")


def test_a_missing_api_key_is_reported_before_any_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    home = tmp_path / "never"
    with FakeResponsesServer() as server:
        args = ["--model", "openai", "--base-url", server.base_url, "--api-key-env", "NO_SUCH_KEY_VAR"]
        code, out, err = invoke(f"local:{home}", "chat", *args, input="hello\n")
        assert server.requests == []  # nothing was sent
    assert code == 1
    assert out == ""
    assert "$NO_SUCH_KEY_VAR is not set" in err
    assert "--api-key-env" in err
    assert err.count("\n") == 1
    assert not home.exists()  # nothing was stored either


def test_a_failed_turn_exits_nonzero_after_storing_the_thread(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_CHAT_KEY", "sk-test")
    with FakeResponsesServer() as server:  # a base URL with no Responses API behind it: HTTP 404
        args = ["--model", "openai", "--base-url", server.base_url + "/missing", "--api-key-env", "TEST_CHAT_KEY"]
        code, out, err = invoke(url, "chat", *args, input="hello\n")
    assert code == 1
    assert out == ""  # no answer
    assert "error: model request failed with HTTP 404" in err
    assert err.strip().endswith("error: 1 of 1 turn failed (see the errors above)")
    thread_id = thread_id_of(err)
    assert user_texts(show_history(url, thread_id)) == ["hello"]  # what was said is stored


def test_chat_json_prints_the_conversation_at_the_end(url: str) -> None:
    code, out, err = invoke(url, "chat", "--json", input="hi\nthere\n")
    assert code == 0, err
    result = json.loads(out)
    assert result["stored"] is True
    assert result["turns"] == [
        {"input": "hi", "answer": "echo: hi", "errors": []},
        {"input": "there", "answer": "echo: there", "errors": []},
    ]
    assert user_texts(show_history(url, result["thread_id"])) == ["hi", "there"]
