"""Peer test: the real Claude Code CLI that the ``claude-agent-sdk`` wheel bundles, offline
against a stand-in for the Anthropic Messages API on loopback, mirrors its session into a local
and a PostgreSQL store through ``ThreadSessionStore``; a second ``query(resume=...)`` from a
fresh ``CLAUDE_CONFIG_DIR`` (another machine) resumes it from the store; the SDK's store
functions list, read, rename, fork and delete it there; ``threadstore`` shows it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk import (
    ClaudeAgentOptions,
    ResultMessage,
    delete_session_via_store,
    fork_session_via_store,
    get_session_messages_from_store,
    list_sessions_from_store,
    project_key_for_directory,
    query,
    rename_session_via_store,
)

from threadstore import ReadThreadParams
from threadstore.integrations.claude_agent_sdk import ThreadSessionStore
from threadstore.integrations.claude_agent_sdk._keys import TranscriptKey

from ..cli.helpers import invoke
from ..peers.fake_anthropic import FakeAnthropicServer


@pytest.fixture
def anthropic() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture(params=["local", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return f"local:{tmp_path / 'home'}"
    dsn: str = request.getfixturevalue("postgres_dsn")
    return dsn


async def _ask(prompt: str, options: ClaudeAgentOptions) -> ResultMessage:
    results = [m async for m in query(prompt=prompt, options=options) if isinstance(m, ResultMessage)]
    assert len(results) == 1, results
    assert not results[0].is_error, results
    return results[0]


def _options(project: Path, config: Path, server: FakeAnthropicServer, store: Any, **more: Any) -> ClaudeAgentOptions:
    env = {
        "ANTHROPIC_BASE_URL": server.base_url,
        "ANTHROPIC_API_KEY": "offline-test-key",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CONFIG_DIR": str(config),
    }
    return ClaudeAgentOptions(cwd=str(project), env=env, session_store=store, max_turns=1, **more)


def _texts(request: dict[str, Any]) -> str:
    return json.dumps(request.get("messages"))


def test_claude_code_sessions_live_in_the_store(tmp_path: Path, anthropic: FakeAnthropicServer, store_url: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    thread_id = asyncio.run(_mirror_resume_and_manage(tmp_path, project, anthropic, store_url))
    code, out, _ = invoke(store_url, "list", "--json")
    assert code == 0
    assert [t["name"] for t in json.loads(out)["threads"]] == ["Iberian capitals"]
    code, out, _ = invoke(store_url, "search", "Spain")
    assert code == 0
    assert "Iberian capitals" in out
    code, out, _ = invoke(store_url, "show", thread_id)
    assert code == 0
    assert "echo: And of Spain?" in out


async def _mirror_resume_and_manage(tmp_path: Path, project: Path, anthropic: FakeAnthropicServer, store_url: str) -> str:
    first_machine = ThreadSessionStore(store_url)
    try:
        first = await _ask(
            "What is the capital of Portugal?", _options(project, tmp_path / "config-a", anthropic, first_machine)
        )
    finally:
        await first_machine.close()
    session_id = first.session_id
    directory = str(project)

    # Another machine: an empty config directory, a store opened anew; the session comes from the store.
    other = ThreadSessionStore(store_url)
    try:
        config_b = tmp_path / "config-b"
        assert not (config_b / "projects").exists()
        second = await _ask(
            "And of Spain?", _options(project, config_b, anthropic, other, resume=session_id)
        )
        assert second.session_id == session_id
        resumed_request = anthropic.message_requests()[-1]
        assert "What is the capital of Portugal?" in _texts(resumed_request)
        assert "echo: What is the capital of Portugal?" in _texts(resumed_request)
        assert "And of Spain?" in _texts(resumed_request)

        # The SDK's own store functions, against our store.
        [info] = await list_sessions_from_store(other, directory=directory)
        assert info.session_id == session_id
        assert info.first_prompt == "What is the capital of Portugal?"
        messages = await get_session_messages_from_store(other, session_id, directory=directory)
        said = [json.dumps(m.message) for m in messages]
        assert [m.type for m in messages] == ["user", "assistant", "user", "assistant"]
        assert "echo: And of Spain?" in said[3]

        await rename_session_via_store(other, session_id, "Iberian capitals", directory=directory)
        [info] = await list_sessions_from_store(other, directory=directory)
        assert info.custom_title == "Iberian capitals"

        forked = await fork_session_via_store(other, session_id, directory=directory)
        listed = {i.session_id: i for i in await list_sessions_from_store(other, directory=directory)}
        assert set(listed) == {session_id, forked.session_id}
        assert listed[forked.session_id].custom_title == "Iberian capitals (fork)"
        fork_messages = await get_session_messages_from_store(other, forked.session_id, directory=directory)
        assert len(fork_messages) == 4

        await delete_session_via_store(other, forked.session_id, directory=directory)
        assert [i.session_id for i in await list_sessions_from_store(other, directory=directory)] == [session_id]

        # An ordinary thread for threadstore: title, first prompt, cwd.
        key = {"project_key": project_key_for_directory(directory), "session_id": session_id}
        thread_id = TranscriptKey.of(key).thread_id
        thread = await other.store.read_thread(ReadThreadParams(thread_id))
        assert thread.name == "Iberian capitals"
        assert thread.first_user_message == "What is the capital of Portugal?"
        assert Path(thread.cwd).resolve() == project.resolve()
    finally:
        await other.close()
    return thread_id
