"""The ``threadstore`` command line over remote (a server process on memory:) and local stores."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    ThreadStore,
    items,
    new_thread_id,
)
from threadstore._backends.registry import open_store
from threadstore._cli import app, main

from ..remote.server_process import serve_process

runner = CliRunner()


def seed(url: str) -> list[str]:
    """Two threads: "alpha" (older, cwd /a) and "beta" (newer, cwd /b)."""

    async def work() -> list[str]:
        store: ThreadStore = open_store(url)
        ids = []
        try:
            for text, cwd in (("alpha question", "/a"), ("beta question", "/b")):
                tid = new_thread_id()
                ids.append(tid)
                await store.create_thread(
                    CreateThreadParams(thread_id=tid, cwd=cwd, model_provider="openai", source="cli")
                )
                await store.append_items(
                    AppendThreadItemsParams(tid, [items.user_message(text), items.agent_message(f"answer to {text}")])
                )
                await store.shutdown_thread(tid)
                await asyncio.sleep(0.01)
        finally:
            await store.close()
        return ids

    return asyncio.run(work())


@pytest.fixture(params=["remote", "local"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "local":
        yield f"local:{tmp_path / 'home'}"
        return
    with serve_process() as address:
        yield f"grpc://{address}"


def invoke(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--store", url, *args])
    return result.exit_code, result.stdout, result.stderr


def test_list_show_search_json(store_url: str) -> None:
    alpha, beta = seed(store_url)
    code, out, _ = invoke(store_url, "list", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [t["thread_id"] for t in listed["threads"]] == [beta, alpha]
    assert listed["next_cursor"] is None
    first = listed["threads"][0]
    assert first["preview"] == "beta question"
    assert first["created_at"].endswith("Z")
    assert "T" in first["created_at"]
    assert first["history"] is None

    code, out, _ = invoke(store_url, "list", "--json", "--asc", "--limit", "1")
    page = json.loads(out)
    assert [t["thread_id"] for t in page["threads"]] == [alpha]
    code, out, _ = invoke(store_url, "list", "--json", "--cursor", page["next_cursor"], "--asc")
    assert [t["thread_id"] for t in json.loads(out)["threads"]] == [beta]

    code, out, _ = invoke(store_url, "list", "--json", "--cwd", "/a")
    assert [t["thread_id"] for t in json.loads(out)["threads"]] == [alpha]
    code, out, _ = invoke(store_url, "list", "--json", "--search", "BETA")
    assert [t["thread_id"] for t in json.loads(out)["threads"]] == [beta]

    code, out, _ = invoke(store_url, "show", alpha, "--history", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["thread_id"] == alpha
    assert shown["cwd"] == "/a"
    assert [i["type"] for i in shown["history"]] == ["session_meta", "event_msg", "event_msg"]

    code, out, _ = invoke(store_url, "search", "answer to alpha", "--json")
    results = json.loads(out)["results"]
    assert [r["thread"]["thread_id"] for r in results] == [alpha]
    assert "answer to alpha" in results[0]["snippet"]

    code, out, _ = invoke(store_url, "list")
    assert code == 0
    assert alpha in out
    assert beta in out
    code, out, _ = invoke(store_url, "show", alpha, "--history")
    assert code == 0
    assert "alpha question" in out


def test_rename_archive_unarchive_delete(store_url: str) -> None:
    alpha, beta = seed(store_url)
    assert invoke(store_url, "rename", alpha, "Renamed")[0] == 0
    assert json.loads(invoke(store_url, "show", alpha, "--json")[1])["name"] == "Renamed"
    assert invoke(store_url, "archive", alpha)[0] == 0
    active = json.loads(invoke(store_url, "list", "--json")[1])["threads"]
    archived = json.loads(invoke(store_url, "list", "--json", "--archived")[1])["threads"]
    assert [t["thread_id"] for t in active] == [beta]
    assert [t["thread_id"] for t in archived] == [alpha]
    assert archived[0]["archived_at"] is not None
    assert invoke(store_url, "unarchive", alpha)[0] == 0
    assert len(json.loads(invoke(store_url, "list", "--json")[1])["threads"]) == 2
    code, _, err = invoke(store_url, "delete", beta)  # no --yes and no terminal: refused
    assert code == 1
    assert "--yes" in err
    assert invoke(store_url, "delete", beta, "--yes")[0] == 0
    code, _, err = invoke(store_url, "show", beta)
    assert code == 3  # not found
    assert err.strip().count("\n") == 0
    assert beta in err


def test_export_jsonl(store_url: str, tmp_path: Path) -> None:
    alpha, _ = seed(store_url)
    code, out, _ = invoke(store_url, "export", alpha)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [i["type"] for i in lines] == ["session_meta", "event_msg", "event_msg"]
    target = tmp_path / "out.jsonl"
    code, _, err = invoke(store_url, "export", alpha, "--output", str(target))
    assert code == 0
    assert f"exported {alpha} to {target}" in err
    assert target.read_text() == out


def test_reindex(store_url: str) -> None:
    seed(store_url)
    code, out, err = invoke(store_url, "reindex")
    if store_url.startswith("local:"):
        assert code == 0, err
        assert "reindexed" in out
        assert ": 2 threads" in out
    else:
        assert code == 1
        assert "no index to rebuild" in err


@pytest.mark.parametrize(
    ("args", "message", "status"),
    [
        (["--store", "memory:", "show", "not-an-id"], "invalid thread id", 1),
        (["--store", "memory:", "show", "01a211bf-84ac-7211-aa07-ea80033ee564"], "not found", 3),
        (["--store", "nosuch:x", "list"], "unknown store URL scheme", 1),
        (["--store", "postgresql://nobody@127.0.0.1:1/x?connect_timeout=1", "list"], "PostgreSQL is unavailable", 1),
        (["--store", "grpc://host-without-port", "list"], "HOST:PORT", 1),
        (["--store", "memory:", "list", "--sort", "size"], "'--sort'", 2),
    ],
)
def test_errors_are_one_line_and_nonzero(args: list[str], message: str, status: int) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == status
    assert message in result.stderr
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1


def test_memory_store_lists_nothing() -> None:
    result = runner.invoke(app, ["--store", "memory:", "list", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"threads": [], "next_cursor": None}


def test_main_returns_exit_status() -> None:
    assert main(["--store", "memory:", "list", "--json"]) == 0
    assert main(["--store", "memory:", "show", "bad"]) == 1
    assert main(["no-such-command"]) == 2


def test_serve_with_a_token_refuses_anonymous_clients() -> None:
    with serve_process(extra=["--token", "t0k"]) as address:
        code, _, err = invoke(f"grpc://{address}", "list", "--json")
        assert code == 1
        assert "UNAUTHENTICATED" in err
        result = runner.invoke(
            app, ["--store", f"grpc://{address}", "list", "--json"], env={"THREADSTORE_TOKEN": "t0k"}
        )
        assert result.exit_code == 0, result.stderr
