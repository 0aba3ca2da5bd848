"""``threadstore checkout``: a thread of the store (and the parents a fork by reference stands
on) placed into a Codex home byte for byte, never overwriting a different rollout silently;
a mirror of that home then carries new lines on as appends to the same thread."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from threadstore import InMemoryThreadStore, ReadThreadParams
from threadstore._backends.registry import open_store
from threadstore._compressed import read_file
from threadstore._transfer.checkout import checkout_thread
from threadstore.errors import Conflict

from ..cli.helpers import invoke
from ..fixtures import CODEX_HOME_0125, CODEX_HOME_0169
from .support import append, codex_home, codex_line, differences, mirror_once, rollout_of, rollouts

THREAD_A_0125 = "01a211bf-81da-7c93-9c38-b2117fbac6d3"
THREAD_C_0169 = "01a211bf-a3a2-7a11-957b-fff58b5ad6c6"  # a fork by reference of A
THREAD_A_0169 = "01a211bf-a202-72e0-abc9-a87cf784d36a"


async def test_a_checked_out_thread_goes_on_as_the_same_thread(tmp_path: Path) -> None:
    store = InMemoryThreadStore()
    first = codex_home(CODEX_HOME_0125, tmp_path / "a")
    assert (await mirror_once(store, first, host_label="a")).ok
    second = tmp_path / "b"
    second.mkdir()
    (outcome,) = await checkout_thread(store, THREAD_A_0125, second)
    assert outcome.status == "written"
    assert outcome.path.read_bytes() == rollout_of(first, THREAD_A_0125).read_bytes()
    assert outcome.path.parent.parent.parent.parent == second / "sessions"
    names = [json.loads(line) for line in (second / "session_index.jsonl").read_text().splitlines()]
    assert [(n["id"], n["thread_name"]) for n in names] == [(THREAD_A_0125, "Storage work")]
    # Again: nothing to do. Codex goes on at b; its mirror appends to the same thread.
    assert [o.status for o in await checkout_thread(store, THREAD_A_0125, second)] == ["present"]
    append(outcome.path, codex_line("a turn on machine b"))
    report = await mirror_once(store, second, host_label="b")
    assert [(e.kind, e.lines) for e in report.events if e.lines] == [("appended", 1)]
    assert await differences(store, second) == []
    thread = await store.read_thread(ReadThreadParams(THREAD_A_0125))
    assert thread.labels["host"] == "a"  # it came from a
    # Back on a, the home is behind: checking out extends it with b's line.
    (back,) = await checkout_thread(store, THREAD_A_0125, first)
    assert back.status == "extended"
    assert read_file(back.path) == outcome.path.read_bytes()


async def test_a_fork_by_reference_brings_its_parent(tmp_path: Path) -> None:
    store = InMemoryThreadStore()
    home = codex_home(CODEX_HOME_0169, tmp_path / "a")
    assert (await mirror_once(store, home)).ok
    elsewhere = tmp_path / "b"
    outcomes = await checkout_thread(store, THREAD_C_0169, elsewhere)
    assert [(o.thread_id, o.status) for o in outcomes] == [(THREAD_A_0169, "written"), (THREAD_C_0169, "written")]
    for outcome in outcomes:  # byte for byte (the fork names a byte offset in its parent)
        assert outcome.path.read_bytes() == rollout_of(home, outcome.thread_id).read_bytes()


async def test_a_different_rollout_in_the_home_is_not_overwritten(tmp_path: Path) -> None:
    store = InMemoryThreadStore()
    home = codex_home(CODEX_HOME_0125, tmp_path / "a")
    assert (await mirror_once(store, home)).ok
    path = rollout_of(home, THREAD_A_0125)
    path.write_bytes(path.read_bytes().replace(b"echo: ", b"ECHO: ", 1))
    with pytest.raises(Conflict):
        await checkout_thread(store, THREAD_A_0125, home)
    (outcome,) = await checkout_thread(store, THREAD_A_0125, home, force=True)
    assert outcome.status == "replaced"
    assert b"ECHO: " not in path.read_bytes()
    assert len(rollouts(home)) == 5


def test_the_command(tmp_path: Path) -> None:
    url = f"local:{tmp_path / 'store'}"
    home = codex_home(CODEX_HOME_0169, tmp_path / "a")

    async def seed() -> None:
        store = open_store(url)
        try:
            assert (await mirror_once(store, home)).ok
        finally:
            await store.close()

    asyncio.run(seed())
    code, out, err = invoke(url, "checkout", THREAD_C_0169[:13], "--to-home", str(tmp_path / "b"), "--json")
    assert code == 0, err
    placed = json.loads(out)
    assert [t["status"] for t in placed["threads"]] == ["written", "written"]
    code, out, _ = invoke(url, "checkout", THREAD_C_0169, "--to-home", str(tmp_path / "b"))
    assert code == 0
    assert "already there, the same" in out
    assert f"codex resume {THREAD_C_0169}" in out
    code, _, err = invoke(url, "checkout", "01a211bf-ffff-7fff-8fff-ffffffffffff", "--to-home", str(tmp_path / "b"))
    assert code == 3, err
