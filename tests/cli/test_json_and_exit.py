"""Every command speaks JSON with ``--json``, failures have documented exit codes, messages use
the user's words, and ``--version`` / ``--help`` say what they should."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from threadstore import __version__
from threadstore._cli import app, main

from .helpers import chat, invoke, runner, with_store


@pytest.fixture
def url(tmp_path: Path) -> str:
    (tmp_path / "home").mkdir()
    return f"local:{tmp_path / 'home'}"


def as_json(url: str, *args: str) -> dict[str, Any]:
    code, out, err = invoke(url, *args, "--json")
    assert code == 0, err
    assert out.count("\n") == 1, out  # one JSON value, one line
    value = json.loads(out)
    assert isinstance(value, dict)
    return value


def test_every_command_that_changes_a_thread_prints_a_result(url: str, tmp_path: Path) -> None:
    tid = with_store(url, lambda s: chat(s, ["hello"]))
    renamed = as_json(url, "rename", tid, "Greeting")
    assert (renamed["thread_id"], renamed["name"]) == (tid, "Greeting")
    archived = as_json(url, "archive", tid)
    assert archived["archived_at"] is not None
    unarchived = as_json(url, "unarchive", tid)
    assert unarchived["archived_at"] is None
    exported = as_json(url, "export", tid)
    assert exported["thread"]["thread_id"] == tid
    assert exported["lines"][0]["type"] == "session_meta"
    written = as_json(url, "export", tid, "--output", str(tmp_path / "t.jsonl"))
    assert written == {"threads": 1, "format": "jsonl", "output": str(tmp_path / "t.jsonl")}
    imported = as_json(f"local:{tmp_path / 'other'}", "import", str(tmp_path / "t.jsonl"))
    assert (imported["copied"], imported["threads"][0]["thread_id"]) == (1, tid)
    reindexed = as_json(url, "reindex")
    assert reindexed == {"store": url, "threads": 1, "skipped_lines": 0, "unreadable_files": 0}
    config = as_json(url, "config")
    assert config["store"] == {"value": url, "from": "--store"}
    deleted = as_json(url, "delete", tid, "--yes")
    assert deleted == {"thread_id": tid, "deleted": True}


def test_reindex_prints_counts_not_a_repr(url: str) -> None:
    with_store(url, lambda s: chat(s, ["hello"]))
    code, out, _ = invoke(url, "reindex")
    assert code == 0
    assert out == f"reindexed {url}: 1 threads\n"


@pytest.mark.parametrize(
    ("args", "status", "code", "words"),
    [
        (["show", "01a211bf-84ac-7211-aa07-ea80033ee564"], 3, "not_found", "not found in local:"),
        (["rename", "01a211bf-84ac-7211-aa07-ea80033ee564", "x"], 3, "not_found", "not found"),
        (["archive", "zz"], 1, "invalid_id", "invalid thread id"),
        (["list", "--limit", "0"], 2, "usage", "--limit"),
        (["list", "--limit", "5000"], 2, "usage", "--limit"),
        (["list", "--nosuch"], 2, "usage", "No such option"),
        (["list", "--cursor", "garbage"], 2, "usage", "--cursor 'garbage'"),
        (["list", "--source", "{bad"], 2, "usage", "--source"),
        (["show"], 2, "usage", "Missing argument"),
    ],
)
def test_failures_as_json_with_their_exit_status(url: str, args: list[str], status: int, code: str, words: str) -> None:
    exit_code, out, err = invoke(url, *args, "--json")
    assert exit_code == status, err
    error = json.loads(out)["error"]
    assert error["code"] == code
    assert words in error["message"]
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    plain_code, plain_out, plain_err = invoke(url, *args)
    assert plain_code == status
    assert plain_out == ""
    assert words in plain_err


def test_no_inner_wording_in_messages(url: str) -> None:
    for args in (["show", "not-an-id"], ["list", "--limit", "0"], ["list", "--cursor", "x"]):
        _, _, err = invoke(url, *args)
        assert "thread-store" not in err
        assert "page_size" not in err
        assert "invalid thread-store request" not in err


def test_conflict_exit_code(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from threadstore import Conflict
    from threadstore._backends.local import LocalThreadStore

    tid = with_store(url, lambda s: chat(s, ["hello"]))

    async def busy(self: LocalThreadStore, thread_id: str) -> None:
        raise Conflict(f"thread {thread_id} is being written by another process")

    monkeypatch.setattr(LocalThreadStore, "archive_thread", busy)
    code, out, err = invoke(url, "archive", tid, "--json")
    assert code == 4
    assert json.loads(out)["error"]["code"] == "conflict"
    assert "being written by another process" in err
    assert "thread-store conflict" not in err


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"threadstore {__version__}\n"
    assert main(["--version"]) == 0


def test_help_documents_exit_codes_and_lists_commands() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "Exit status: 0 success, 1 error, 2 usage" in text
    assert "3 not found" in text
    assert "4 conflict" in text
    for command in ("list", "show", "search", "ui", "config", "chat", "fork", "copy", "reindex"):
        assert f" {command} " in text
    assert "--install-completion" in text  # shell completion


@pytest.mark.parametrize(
    "command",
    [
        "list",
        "search",
        "show",
        "rename",
        "archive",
        "unarchive",
        "delete",
        "export",
        "import",
        "fork",
        "copy",
        "reindex",
        "chat",
        "ui",
        "config",
        "serve",
        "app-server",
    ],
)
def test_every_command_takes_json(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--json" in result.stdout


def test_threadstore_alone_prints_help() -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == 2
    assert "Usage" in result.stdout + result.stderr
