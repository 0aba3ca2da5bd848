"""A one-off mirror (``--once``) of real Codex homes, on every kind of target: every thread
equal to its rollout byte for byte, names, archived state and host labels carried, and a second
run moves nothing."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from threadstore import ListThreadsParams, ReadThreadParams, ThreadStore
from threadstore._mirror.checkpoint import HOST_LABEL, Checkpoint, source_key

from ..fixtures import CODEX_HOME_0125, CODEX_HOME_0169
from .support import codex_home, differences, mirror_once, rollouts


@pytest.mark.parametrize("fixture", [CODEX_HOME_0125, CODEX_HOME_0169], ids=["0.125", "0.169"])
async def test_every_thread_is_copied_exactly(target: ThreadStore, tmp_path: Path, fixture: Path) -> None:
    home = codex_home(fixture, tmp_path / "home")
    report = await mirror_once(target, home, host_label="alpha")
    assert report.ok, report.to_json()
    threads = rollouts(home)
    assert report.counts["created"] == len(threads) == 5
    assert report.lines == sum(len(p.read_bytes().splitlines()) for p in threads.values())
    assert report.counts["archived"] == 1
    assert await differences(target, home) == []
    key = source_key("alpha", home.resolve())
    for thread_id, path in threads.items():
        thread = await target.read_thread(ReadThreadParams(thread_id, include_archived=True))
        assert thread.labels[HOST_LABEL] == "alpha"
        # The checkpoint: every line of the rollout, exactly where it ends.
        data, stat = path.read_bytes(), path.stat()
        assert Checkpoint.decode(thread.labels[key]) == Checkpoint(
            len(data.splitlines()), len(data), zlib.crc32(data[-4096:]), zlib.crc32(data), stat.st_ino, stat.st_mtime_ns
        )
    # The host label finds them.
    listed = await target.list_threads(ListThreadsParams(labels={HOST_LABEL: "alpha"}))
    assert {t.thread_id for t in listed.items} <= set(threads)
    assert len(listed.items) == 4  # (the fifth is archived)

    again = await mirror_once(target, home, host_label="alpha")
    assert again.ok
    assert again.lines == 0
    assert not {k for k, n in again.counts.items() if n and k != "caught_up"}


async def test_two_homes_of_two_machines_into_one_target(target: ThreadStore, tmp_path: Path) -> None:
    first = codex_home(CODEX_HOME_0125, tmp_path / "a")
    second = codex_home(CODEX_HOME_0169, tmp_path / "b")
    assert (await mirror_once(target, first, host_label="laptop")).ok
    assert (await mirror_once(target, second, host_label="desktop")).ok
    assert await differences(target, first) == []
    assert await differences(target, second) == []
    laptop = await target.list_threads(ListThreadsParams(labels={HOST_LABEL: "laptop"}))
    desktop = await target.list_threads(ListThreadsParams(labels={HOST_LABEL: "desktop"}))
    assert {t.thread_id for t in laptop.items} <= set(rollouts(first))
    assert {t.thread_id for t in desktop.items} <= set(rollouts(second))
    assert len(laptop.items) == len(desktop.items) == 4
