"""Following a Codex home: where each rollout is (active before archived, plain before
compressed), what the watcher reports, names from ``session_index.jsonl`` (a rewritten index
read again), and sweeps that catch what no watch reported."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from threadstore._mirror.home import Home

from ..fixtures import CODEX_HOME_0125
from .support import codex_home, rollout_of

THREAD_A = "01a211bf-81da-7c93-9c38-b2117fbac6d3"
THREAD_D = "01a211bf-84ac-7211-aa07-ea80033ee564"  # archived in the fixture


def _changes(home: Home) -> set[str]:
    time.sleep(0.05)
    reported = home.changes()
    assert reported is not None
    return reported[0]


def test_where_a_rollout_is(tmp_path: Path) -> None:
    root = codex_home(CODEX_HOME_0125, tmp_path / "home")
    home = Home(root)
    assert len(home.scan()) == 5
    archived = home.locate(THREAD_D)
    assert archived is not None
    assert archived.archived
    active = home.locate(THREAD_A)
    assert active is not None
    assert not active.archived
    assert not active.compressed
    # Compressed beside the plain file (Codex in the middle of compressing it): the plain wins.
    packed = active.path.with_name(active.path.name + ".zst")
    packed.write_bytes(b"")
    assert home.scan() == {THREAD_A}
    assert home.locate(THREAD_A) == active
    active.path.unlink()
    assert home.scan() == {THREAD_A}
    packed_now = home.locate(THREAD_A)
    assert packed_now is not None
    assert packed_now.compressed
    home.close()


def test_the_watcher_reports_writes_moves_and_new_days(tmp_path: Path) -> None:
    root = codex_home(CODEX_HOME_0125, tmp_path / "home")
    home = Home(root)
    assert home.watcher is not None
    home.scan()
    assert home.changes() is not None
    with open(rollout_of(root, THREAD_A), "ab") as f:
        f.write(b"\n")
    assert _changes(home) == {THREAD_A}
    os.rename(rollout_of(root, THREAD_A), root / "archived_sessions" / rollout_of(root, THREAD_A).name)
    assert _changes(home) == {THREAD_A}
    moved = home.locate(THREAD_A)
    assert moved is not None
    assert moved.archived
    day = root / "sessions" / "2031" / "01" / "02"
    day.mkdir(parents=True)
    new = "01a3c0de-0000-7000-8000-00000000000a"
    (day / f"rollout-2031-01-02T03-04-05-{new}.jsonl").write_bytes(b"{}\n")
    assert new in _changes(home)
    # A whole day directory removed: its rollouts are gone.
    for path in day.iterdir():
        path.unlink()
    day.rmdir()
    assert new in _changes(home)
    assert home.locate(new) is None
    home.close()


def test_names_and_a_rewritten_index(tmp_path: Path) -> None:
    root = codex_home(CODEX_HOME_0125, tmp_path / "home")
    home = Home(root, watch=False)
    assert home.read_names() == {THREAD_A}
    assert home.name_of(THREAD_A) == "Storage work"
    with open(root / "session_index.jsonl", "a") as f:
        f.write(json.dumps({"id": THREAD_D, "thread_name": "Old", "updated_at": "x"}) + "\n")
        f.write('{"id": "torn')  # still being written: left for later
    assert home.read_names() == {THREAD_D}
    # Rewritten (Codex removes a deleted thread's entries): read from the start again.
    (root / "session_index.jsonl").write_text(json.dumps({"id": THREAD_D, "thread_name": "Old"}) + "\n")
    assert home.read_names() == {THREAD_A}
    assert home.name_of(THREAD_A) == ""
    assert home.name_of(THREAD_D) == "Old"


def test_a_sweep_sees_what_changed_without_a_watcher(tmp_path: Path) -> None:
    root = codex_home(CODEX_HOME_0125, tmp_path / "home")
    home = Home(root, watch=False)
    assert home.watcher is None
    assert len(home.sweep()) == 5
    assert home.sweep() == set()
    with open(rollout_of(root, THREAD_A), "ab") as f:
        f.write(b"\n")
    assert home.sweep() == {THREAD_A}
