"""Tables that fit the terminal: columns chosen by width, one line per thread, readable titles,
directories cut from the left with ``~``, relative times, and a sentence for an empty result."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from rich.console import Console

from threadstore import StoredThread, StoredThreadSearchResult
from threadstore._cli import app
from threadstore._cli.tables import TITLE_MIN, search_table, thread_table

from .helpers import chat, invoke, runner, with_store

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOME = os.path.expanduser("~")
LONG_TITLE = "Refactor the storage layer so that listing a twenty-thousand-thread home stays fast " * 2


def threads() -> list[StoredThread]:
    return [
        StoredThread(
            thread_id="01a211bf-81da-7c93-9c38-b2117fbac6d3",
            created_at=NOW - timedelta(days=2),
            updated_at=NOW - timedelta(hours=3),
            name=None,
            preview=LONG_TITLE,
            cwd=f"{HOME}/src/projects/threadstore/deeply/nested/working/directory",
            source="cli",
            model_provider="openai",
        ),
        StoredThread(
            thread_id="01a211bf-8341-7ed1-961c-fbeaabf490cf",
            created_at=NOW - timedelta(days=40),
            updated_at=NOW - timedelta(minutes=12),
            name="Short name",
            preview="ignored because there is a name",
            cwd="/srv/demo",
            source={"subagent": "review"},
            model_provider="builtin",
        ),
    ]


def render(width: int, rows: list[StoredThread] | None = None) -> list[str]:
    buffer = io.StringIO()
    thread_table(Console(file=buffer, width=width), threads() if rows is None else rows, now=NOW)
    return buffer.getvalue().splitlines()


@pytest.mark.parametrize("width", [80, 120, 200])
def test_one_line_per_thread_within_the_width(width: int) -> None:
    lines = render(width)
    assert len(lines) == 3  # the header and one line per thread
    assert all(len(line) <= width for line in lines)
    assert lines[1].startswith("01a211bf-81da-7c93-9c38-b2117fbac6d3  3 h ago")
    assert lines[2].startswith("01a211bf-8341-7ed1-961c-fbeaabf490cf  12 min ago")


def test_80_columns_keep_a_readable_title_and_drop_the_rest() -> None:
    header, first, second = render(80)
    assert header.split() == ["id", "updated", "title"]
    title = first[first.index("Refactor") :]
    assert len(title) >= TITLE_MIN + 10  # the title gets what the dropped columns would take
    assert title.endswith("…")
    assert "Short name" in second
    assert "/srv/demo" not in second


def test_200_columns_show_every_column_and_the_whole_cwd() -> None:
    header, first, second = render(200)
    assert header.split() == ["id", "updated", "created", "title", "source", "provider", "cwd"]
    assert "2 d ago" in first
    assert "2026-10-21" in second  # older than 30 days: the date
    assert "subagent" in second
    assert "builtin" in second
    assert second.endswith("/srv/demo")
    assert "~/src/projects/threadstore" in first  # the home directory as ~, cut from the left when needed


def test_120_columns_cut_the_cwd_from_the_left() -> None:
    header, first, _ = render(120)
    assert header.split()[:3] == ["id", "updated", "title"]
    assert "cwd" in header.split()
    cwd = first.split()[-1]
    assert cwd.startswith("…/")
    assert cwd.endswith("/directory")  # the end of the path, where the work is


def test_search_table_highlights_and_centres_the_match() -> None:
    thread = threads()[0]
    snippet = "... " + "a" * 120 + " the needle is here " + "b" * 80
    buffer = io.StringIO()
    search_table(
        Console(file=buffer, width=80, force_terminal=True, color_system="standard"),
        [StoredThreadSearchResult(thread, snippet)],
        "NEEDLE",
        now=NOW,
    )
    text = buffer.getvalue()
    assert "\x1b[1;7mneedle\x1b[0m" in text  # bold reverse on the match, whatever its case
    plain = io.StringIO()
    search_table(Console(file=plain, width=80), [StoredThreadSearchResult(thread, snippet)], "needle", now=NOW)
    lines = plain.getvalue().splitlines()
    assert len(lines) == 2
    assert "needle" in lines[1]  # the window moved to the match
    assert all(len(line) <= 80 for line in lines)


@pytest.fixture
def url(tmp_path: Path) -> str:
    (tmp_path / "home").mkdir()
    return f"local:{tmp_path / 'home'}"


@pytest.mark.parametrize("columns", ["80", "200"])
def test_list_command_fits_columns(url: str, columns: str) -> None:
    first = with_store(url, lambda s: chat(s, ["a question about " + "storage " * 20], cwd=f"{HOME}/work/project"))
    second = with_store(url, lambda s: chat(s, ["another"], cwd="/tmp"))
    result = runner.invoke(app, ["--store", url, "list"], env={"COLUMNS": columns})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["id", second, first]
    assert all(len(line) <= int(columns) for line in lines)
    assert "just now" in lines[1]
    if columns == "200":
        assert "~/work/project" in lines[2]
    code, out, _ = invoke(url, "list", "--json")
    assert code == 0
    created = json.loads(out)["threads"][0]["created_at"]
    assert created.endswith("Z")  # JSON keeps RFC 3339
    assert datetime.fromisoformat(created)


def test_search_command_fits_80_columns(url: str) -> None:
    tid = with_store(url, lambda s: chat(s, ["x " * 60 + "find the marmalade jar " + "y " * 60]))
    result = runner.invoke(app, ["--store", url, "search", "marmalade"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "title", "snippet"]
    assert lines[1].startswith(tid)
    assert "marmalade" in lines[1]
    assert all(len(line) <= 80 for line in lines)


def test_empty_results_print_one_sentence(url: str) -> None:
    assert invoke(url, "list") == (0, "No threads.\n", "")
    assert invoke(url, "list", "--archived") == (0, "No archived threads.\n", "")
    assert invoke(url, "list", "--cwd", "/nowhere") == (0, "No threads match these filters.\n", "")
    assert invoke(url, "search", "zebra") == (0, "No threads mention 'zebra'.\n", "")


def test_a_full_page_tells_how_to_get_the_next(url: str) -> None:
    for text in ("one", "two"):
        with_store(url, partial(chat, texts=[text]))
    code, out, err = invoke(url, "list", "--limit", "1")
    assert code == 0
    assert len(out.splitlines()) == 2
    assert err.startswith("more: threadstore list --cursor '")
    cursor = err.split("'")[1]
    code, out, err = invoke(url, "list", "--limit", "1", "--cursor", cursor)
    assert "one" in out
    assert err == ""
