"""What our runtime writes into a paginated (0.169-era) thread is read back by Codex 0.169 itself:
an appended turn, and forks by reference.

The thread is thread B of the 0.169 fixture home. Our runtime resumes it from the home and runs
one turn; the lines it appends carry ordinals and record the messages as ``item_completed``
events, as that Codex build writes them. Then the real Codex 0.169 app server reads the home:
it must see the turns it wrote plus ours (the user's text and the answer), and our own app
server must give the same turns as Codex for the whole thread.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from threadstore._backends.local import LocalThreadStore
from threadstore._contract.types import LoadThreadHistoryParams
from threadstore._runtime import ThreadManager

from ..appserver.client import StdioClient
from ..fixtures import CODEX_HOME_0169
from ..peers.codex_cli import CodexCli
from ..peers.codex_home import write_codex_home
from ..peers.codex_install import require_codex
from .support import run_turn

pytestmark = pytest.mark.codex

PAGINATED_VERSION = "0.169.0"


def _codex_turns(home: Path, cwd: Path, thread_id: str) -> list[dict[str, Any]]:
    cli = CodexCli(require_codex(PAGINATED_VERSION), home, cwd)
    with cli.app_server() as client:
        client.initialize(timeout=60)
        # Codex 0.169 gives the turns of a paginated thread once it has loaded it.
        client.request("thread/resume", {"threadId": thread_id}, timeout=60)
        read = client.thread_read(thread_id, include_turns=True, timeout=60)
    turns: list[dict[str, Any]] = read["thread"]["turns"]
    return turns


async def test_codex_0169_reads_a_turn_appended_by_threadstore(tmp_path: Path) -> None:
    home = tmp_path / "codex-home"
    shutil.copytree(CODEX_HOME_0169, home)
    for path in home.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    expected = json.loads((home / "expected.json").read_text())
    thread_id = expected["ids"]["B"]
    before = expected["reads"]["B"]["thread"]["turns"]
    write_codex_home(home, base_url="http://127.0.0.1:9/v1")  # Codex only reads here

    async with LocalThreadStore(home) as store:
        manager = ThreadManager(store)
        thread = await manager.resume_thread(thread_id)
        await run_turn(thread, "a turn from threadstore")
        assert (await manager.shutdown_all(timeout=10)).all_stopped
        history = await store.load_history(LoadThreadHistoryParams(thread_id))
    lines = history.lines()
    added = lines[-8:]
    assert all(type(line.get("ordinal")) is int for line in lines)
    assert [line["ordinal"] for line in lines] == list(range(len(lines)))
    kinds = [line["payload"].get("type") for line in added if line["type"] == "event_msg"]
    assert "item_completed" in kinds
    assert "user_message" not in kinds
    assert "agent_message" not in kinds

    cwd = tmp_path / "work"
    cwd.mkdir()
    turns = _codex_turns(home, cwd, thread_id)
    assert turns[: len(before)] == before
    (ours,) = turns[len(before) :]
    said = [(item["type"], item.get("text") or item["content"][0]["text"]) for item in ours["items"]]
    assert said == [("userMessage", "a turn from threadstore"), ("agentMessage", "echo: a turn from threadstore")]
    assert ours["status"] == "completed"

    with StdioClient(f"local:{home}") as client:
        client.initialize()
        read = client.call("thread/read", {"threadId": thread_id, "includeTurns": True})["thread"]
        assert read["turns"] == turns
        assert client.close() == 0


async def test_codex_0169_reads_a_fork_by_reference_made_by_threadstore(tmp_path: Path) -> None:
    home = tmp_path / "codex-home"
    shutil.copytree(CODEX_HOME_0169, home)
    for path in home.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    expected = json.loads((home / "expected.json").read_text())
    source = expected["ids"]["B"]
    write_codex_home(home, base_url="http://127.0.0.1:9/v1")

    async with LocalThreadStore(home) as store:
        parent = await store.load_history(LoadThreadHistoryParams(source))
        manager = ThreadManager(store)
        whole = await manager.fork_thread(source)
        await run_turn(whole, "continue the fork")
        first_only = await manager.fork_thread(source, nth_user_message=1)
        assert (await manager.shutdown_all(timeout=10)).all_stopped
        own = await store.load_history(LoadThreadHistoryParams(whole.thread_id, resolve_forks=False))
        cut = await store.load_history(LoadThreadHistoryParams(first_only.thread_id, resolve_forks=False))
        resolved = await store.load_history(LoadThreadHistoryParams(whole.thread_id))

    # The fork stores its own lines only: a session_meta naming the parent and the cut, numbered
    # with the cut, then its turn, numbered on.
    meta = own.items[0]["payload"]
    last = parent.items[-1]["ordinal"]
    assert (meta["forked_from_id"], meta["forked_from_ordinal_exclusive"]) == (source, last + 1)
    assert [line["ordinal"] for line in own.items] == list(range(last + 1, last + 1 + len(own.items)))
    assert len(own.items) < 12
    assert resolved.items[1 : len(parent.items) + 1] == parent.items
    second_turn = next(
        i
        for i, item in enumerate(parent.items)
        if item["type"] == "event_msg" and i > 1 and item["payload"]["type"] == "task_started"
    )
    assert cut.items[0]["payload"]["forked_from_ordinal_exclusive"] == parent.items[second_turn]["ordinal"]
    assert len(cut.items) == 1

    cwd = tmp_path / "work"
    cwd.mkdir()
    # Codex 0.169 resumes a fork by reference through its history_base (it checks where the cut
    # falls in the parent's file, and fails the resume when that is wrong), and then reports
    # the fork's own turns, as it does for the forks it writes itself once they are reloaded.
    turns = _codex_turns(home, cwd, whole.thread_id)
    (ours,) = turns
    assert [item["type"] for item in ours["items"]] == ["userMessage", "agentMessage"]
    assert _codex_turns(home, cwd, first_only.thread_id) == []
    base = cut.items[0]["payload"]["history_base"]
    assert (base["thread_id"], base["end_ordinal_exclusive"]) == (source, parent.items[second_turn]["ordinal"])
