"""What a new user met: threads that could be made but not found again, a copy that tried every
thread against a target that was not there, failures in shapes or words that were not ours, a
`--cursor` hint that lost the options, no way to remove a name, forks that looked like their
parent, and a library that named a missing module instead of the extra to install."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from threadstore import ListThreadsParams, ThreadStore
from threadstore._cli import app

from .helpers import chat, invoke, runner, with_store


@pytest.fixture
def url(tmp_path: Path) -> str:
    (tmp_path / "home").mkdir()
    return f"local:{tmp_path / 'home'}"


def _listed(url: str) -> list[str]:
    async def work(store: ThreadStore) -> list[str]:
        return [t.thread_id for t in (await store.list_threads(ListThreadsParams())).items]

    return with_store(url, work)


def _rollouts(url: str) -> int:
    return len(list(Path(url.removeprefix("local:")).rglob("rollout-*.jsonl")))


def test_a_fork_before_the_first_user_message_is_refused(url: str) -> None:
    source = with_store(url, lambda s: chat(s, ["one", "two"]))
    code, out, err = invoke(url, "fork", source, "--at", "0", "--json")
    assert code == 2
    assert "--at 0 cuts before the first user message" in json.loads(out)["error"]["message"]
    assert err.count("\n") == 1
    assert _rollouts(url) == 1  # nothing made that list could not show
    code, out, err = invoke(url, "fork", source, "--at", "1")
    assert code == 0, err
    assert out.strip() in _listed(url)


def test_a_rollout_without_a_user_message_is_not_imported(url: str, tmp_path: Path) -> None:
    thread_id = "01a211bf-0000-7000-8000-00000000000a"
    meta = {"id": thread_id, "timestamp": "2026-01-02T03:04:05.000Z", "cwd": "/srv/p"}
    header_only = tmp_path / "header-only.jsonl"
    header_only.write_text(json.dumps({"timestamp": meta["timestamp"], "type": "session_meta", "payload": meta}) + "\n")
    code, out, err = invoke(url, "import", str(header_only), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["copied"], report["skipped"], report["failed"]) == (0, 1, 0)
    assert report["threads"][0]["thread_id"] == thread_id
    assert "no user message" in report["threads"][0]["reason"]
    assert _rollouts(url) == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_copy_to_a_target_that_is_not_there_stops_at_once(url: str) -> None:
    for text in ("one", "two", "three"):
        with_store(url, lambda s, t=text: chat(s, [t]))  # type: ignore[misc]
    target = f"grpc://127.0.0.1:{_closed_port()}"
    code, out, err = invoke(url, "copy", "--to", target, "--json")
    assert code == 1
    error = json.loads(out)["error"]
    assert error["code"] == "unavailable"
    assert error["message"] == f"cannot reach the thread server at {target}: is `threadstore serve` running there?"
    assert err.count("\n") == 1


def test_copy_and_import_failures_have_the_documented_shape(url: str, tmp_path: Path) -> None:
    source = with_store(url, lambda s: chat(s, ["one"]))
    missing = "01a211bf-0000-7000-8000-0000000000ff"
    target = f"local:{tmp_path / 'target'}"
    code, out, err = invoke(url, "copy", "--to", target, "--thread", source, "--thread", missing, "--json")
    assert code == 1
    result = json.loads(out)
    assert result["error"] == {"code": "copy_failed", "message": "1 thread(s) could not be copied"}
    assert (result["copied"], result["failed"]) == (1, 1)
    assert result["threads"][1]["reason"] == f"thread {missing} not found"  # no API wording
    assert err == "error: 1 thread(s) could not be copied\n"

    (tmp_path / "bad.jsonl").write_text("not json\n")
    code, out, err = invoke(url, "import", str(tmp_path / "bad.jsonl"), str(tmp_path / "missing.jsonl"), "--json")
    assert code == 1
    result = json.loads(out)
    assert result["error"] == {"code": "import_failed", "message": "2 thread(s) could not be imported"}
    for outcome in result["threads"]:
        assert not outcome["reason"].startswith("invalid thread-store request"), outcome


def test_messages_speak_of_the_command_line(url: str) -> None:
    code, _, err = invoke(url, "search", "  ")
    assert (code, err) == (2, "error: give a text to search for: threadstore search TEXT\n")
    code, _, err = invoke(url, "list", "--sort", "bogus")
    assert code == 2
    assert "Value error" not in err
    assert "'bogus' is not one of 'created_at', 'updated_at'" in err


def test_the_next_page_hint_keeps_the_store_and_the_options(url: str) -> None:
    for text in ("one", "two", "three"):
        with_store(url, lambda s, t=text: chat(s, [t]))  # type: ignore[misc]
    home = url.removeprefix("local:")
    result = runner.invoke(app, ["--home", home, "list", "--limit", "1", "--sort", "updated_at", "--asc"])
    assert result.exit_code == 0, result.stderr
    hint = result.stderr.strip()
    prefix = f"more: threadstore --home {home} list --sort updated_at --asc --limit 1 --cursor "
    assert hint.startswith(prefix), hint
    cursor = hint.removeprefix(prefix).strip("'")
    code, out, err = invoke(url, "list", "--limit", "1", "--sort", "updated_at", "--asc", "--cursor", cursor, "--json")
    assert code == 0, err
    assert len(json.loads(out)["threads"]) == 1
    code, _, err = invoke(url, "search", "echo", "-n", "1")
    assert code == 0, err
    assert err.startswith(f"more: threadstore --store {url} search echo --limit 1 --cursor ")


def test_a_name_can_be_removed(url: str) -> None:
    thread_id = with_store(url, lambda s: chat(s, ["hello there"]))
    code, out, err = invoke(url, "rename", thread_id[:13], "Named", "--json")
    assert code == 0, err
    assert json.loads(out)["name"] == "Named"
    code, out, err = invoke(url, "rename", thread_id[:13], "--clear", "--json")
    assert code == 0, err
    assert json.loads(out)["name"] is None
    code, _, err = invoke(url, "rename", thread_id[:13], " ")
    assert (code, err) == (2, "error: a name cannot be empty (to remove the name: threadstore rename ID --clear)\n")
    code, _, err = invoke(url, "rename", thread_id[:13])
    assert (code, err) == (2, "error: give a NAME, or --clear to remove the name\n")


def test_a_fork_is_told_from_its_parent_in_list(url: str) -> None:
    source = with_store(url, lambda s: chat(s, ["same title"]))
    code, out, err = invoke(url, "fork", source)
    assert code == 0, err
    fork = out.strip()
    os.environ["COLUMNS"] = "140"
    try:
        code, out, err = invoke(url, "list")
    finally:
        del os.environ["COLUMNS"]
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "↳ same title" in rows[fork]
    assert source[:8] in rows[fork].split("same title", 1)[1]  # the "fork of" column
    assert "↳" not in rows[source]


@pytest.mark.parametrize(
    ("blocked", "statement", "extra"),
    [
        ("grpc", "from threadstore import RemoteThreadStore", "grpc"),
        ("psycopg", "from threadstore import PostgresThreadStore", "postgres"),
        ("httpx", "from threadstore.models import OpenAIResponsesModel", "openai"),
        ("pytest", "import threadstore.testing", "testing"),
    ],
)
def test_the_library_names_the_extra_a_feature_needs(blocked: str, statement: str, extra: str) -> None:
    """(A module set to None in ``sys.modules`` cannot be imported: as if it were not installed.)"""
    code = f"import sys\nsys.modules[{blocked!r}] = None\ntry:\n    {statement}\nexcept ImportError as exc:\n    print(type(exc).__name__, exc)\n"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert run.stdout.startswith("MissingExtra "), run.stdout + run.stderr
    assert f"pip install 'threadstore[{extra}]'" in run.stdout
