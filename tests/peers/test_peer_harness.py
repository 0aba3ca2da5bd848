"""Proves the Codex peer harness works: a real ``codex exec`` against the fake Responses server."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .codex_cli import CodexCli
from .codex_home import make_git_repo, rollout_files, write_codex_home
from .codex_install import APP_SERVER_VERSION, EXEC_VERSION, CodexInstall, require_codex
from .fake_responses import FakeResponsesServer

pytestmark = pytest.mark.codex


@pytest.fixture(scope="module")
def codex_exec_install() -> CodexInstall:
    return require_codex(EXEC_VERSION)


@pytest.fixture(scope="module")
def codex_app_server_install() -> CodexInstall:
    return require_codex(APP_SERVER_VERSION)


@pytest.fixture
def fake_server() -> Iterator[FakeResponsesServer]:
    with FakeResponsesServer() as server:
        yield server


def _rollout_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_fake_server_streams_echo(fake_server: FakeResponsesServer) -> None:
    body = json.dumps(
        {
            "model": "m",
            "stream": True,
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        }
    ).encode()
    request = urllib.request.Request(
        fake_server.base_url + "/responses",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        text = response.read().decode()
    events = [json.loads(line[len("data: ") :]) for line in text.splitlines() if line.startswith("data: ")]
    assert events[0]["type"] == "response.created"
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["usage"]["total_tokens"] > 0
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == ("echo: hi")
    assert list(fake_server.iter_user_texts()) == ["hi"]


def test_codex_exec_and_resume_write_rollout(
    codex_exec_install: CodexInstall, fake_server: FakeResponsesServer, tmp_path: Path
) -> None:
    home = tmp_path / "codex-home"
    write_codex_home(home, base_url=fake_server.base_url)
    cli = CodexCli(codex_exec_install, home=home, cwd=make_git_repo(tmp_path / "repo"))

    first = cli.exec("hello")
    assert first.ok, first.describe()
    assert first.agent_messages == ["echo: hello"], first.describe()
    thread_id = first.thread_id
    assert thread_id, first.describe()

    files = rollout_files(home)
    assert len(files) == 1, files
    rollout = files[0]
    assert rollout.name.endswith(f"-{thread_id}.jsonl")
    lines = _rollout_lines(rollout)
    assert lines[0]["type"] == "session_meta"
    assert "echo: hello" in rollout.read_text()

    second = cli.exec_resume(thread_id, "again")
    assert second.ok, second.describe()
    assert second.thread_id == thread_id
    assert second.agent_messages == ["echo: again"], second.describe()
    assert rollout_files(home) == [rollout]
    assert len(_rollout_lines(rollout)) > len(lines)
    assert "echo: again" in rollout.read_text()

    assert list(fake_server.iter_user_texts()) == ["hello", "again"]
    resumed_request = fake_server.response_requests()[-1].json_body
    assert isinstance(resumed_request, dict)
    assert resumed_request["stream"] is True
    assert "echo: hello" in json.dumps(resumed_request["input"])


def test_app_server_lists_and_reads_exec_thread(
    codex_exec_install: CodexInstall,
    codex_app_server_install: CodexInstall,
    fake_server: FakeResponsesServer,
    tmp_path: Path,
) -> None:
    home = tmp_path / "codex-home"
    repo = make_git_repo(tmp_path / "repo")
    write_codex_home(home, base_url=fake_server.base_url)
    run = CodexCli(codex_exec_install, home=home, cwd=repo).exec("hello")
    assert run.ok, run.describe()

    app = CodexCli(codex_app_server_install, home=home, cwd=repo)
    # thread/list only shows interactive sources (cli, vscode) unless asked.
    listed, reads = app.list_and_read_threads(list_params={"sourceKinds": ["exec"]})
    assert [thread["id"] for thread in listed["data"]] == [run.thread_id]
    (read,) = reads
    (turn,) = read["thread"]["turns"]
    assert [item["type"] for item in turn["items"]] == ["userMessage", "agentMessage"]
    assert turn["items"][1]["text"] == "echo: hello"
