"""Thread ids can be shortened to a unique prefix of at least 8 characters, wherever an id is
taken; ambiguous, too short and unknown prefixes are clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    InMemoryThreadStore,
    ListThreadsParams,
    ThreadPage,
    ThreadStore,
    items,
)
from threadstore._cli.resolve import resolve_thread_id

from .helpers import invoke, with_store

# Two ids sharing their first 13 characters, a third apart from them.
TWINS = ("01a211bf-84ac-7211-aa07-ea80033ee564", "01a211bf-84ac-7c11-aa07-ea80033ee999")
LONER = "01a211c0-0000-7000-8000-000000000001"


async def seed(store: ThreadStore) -> None:
    for tid in (*TWINS, LONER):
        await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="openai"))
        await store.append_items(AppendThreadItemsParams(tid, [items.user_message(f"hello from {tid[-4:]}")]))
        await store.shutdown_thread(tid)
    await store.archive_thread(TWINS[1])  # prefixes cover archived threads too


@pytest.fixture
def url(tmp_path: Path) -> str:
    (tmp_path / "home").mkdir()
    url = f"local:{tmp_path / 'home'}"
    with_store(url, seed)
    return url


@pytest.mark.parametrize("prefix", ["01a211c0", "01A211C0-0000", LONER])
def test_unique_prefix_works_in_show(url: str, prefix: str) -> None:
    code, out, err = invoke(url, "show", prefix, "--json")
    assert code == 0, err
    assert json.loads(out)["thread_id"] == LONER


def test_prefix_of_an_archived_thread(url: str) -> None:
    code, out, err = invoke(url, "show", "01a211bf-84ac-7c", "--json")
    assert code == 0, err
    assert json.loads(out)["thread_id"] == TWINS[1]


def test_prefixes_everywhere_an_id_is_taken(url: str, tmp_path: Path) -> None:
    short = "01a211c0-00"
    assert invoke(url, "rename", short, "Named")[0] == 0
    assert json.loads(invoke(url, "show", LONER, "--json")[1])["name"] == "Named"
    assert invoke(url, "archive", short)[0] == 0
    assert invoke(url, "unarchive", short)[0] == 0
    code, out, _ = invoke(url, "export", short)
    assert code == 0
    assert "hello from 0001" in out
    code, out, err = invoke(url, "fork", short)
    assert code == 0, err
    assert json.loads(invoke(url, "show", out.strip(), "--json")[1])["forked_from_id"] == LONER
    code, out, err = invoke(url, "copy", "--to", f"local:{tmp_path / 'copy'}", "--thread", short, "--json")
    assert code == 0, err
    assert [t["thread_id"] for t in json.loads(out)["threads"]] == [LONER]
    code, _, err = invoke(url, "chat", short, input="hi\n")
    assert code == 0, err
    assert LONER in err
    assert invoke(url, "delete", short, "--yes") == (0, f"deleted {LONER}\n", "")


def test_ambiguous_prefix_names_the_candidates(url: str) -> None:
    code, out, err = invoke(url, "show", "01a211bf-84ac", "--json")
    assert code == 1
    error = json.loads(out)["error"]
    assert error["code"] == "ambiguous_id"
    assert "is ambiguous" in error["message"]
    assert TWINS[0] in error["message"]
    assert TWINS[1] in error["message"]
    assert "give more characters" in err


def test_too_short_and_unknown_prefixes(url: str) -> None:
    code, _, err = invoke(url, "show", "01a211c")
    assert code == 1
    assert "too short" in err
    assert "at least 8 characters" in err
    code, _, err = invoke(url, "archive", "deadbeef")
    assert code == 3
    assert "no thread id in" in err
    assert "starts with deadbeef" in err


def test_a_full_id_skips_the_lookup() -> None:
    class NoListing(InMemoryThreadStore):
        async def list_threads(self, params: ListThreadsParams) -> ThreadPage:
            raise AssertionError("a full id needs no listing")

    import asyncio

    resolved = asyncio.run(resolve_thread_id(NoListing(), LONER.upper(), "x"))
    assert resolved == LONER
