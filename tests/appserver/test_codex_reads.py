"""``thread/read`` with turns gives Codex's own answer for every thread of both fixture homes.

Each home's ``expected.json`` holds what the Codex build that wrote it answered to its own
``thread/read`` (``includeTurns``). Our app server, run as ``threadstore app-server`` over a copy
of the home, must give the same turns: the whole turn lists are compared with ``==`` (every turn,
every item, every field Codex reports, nothing more), and the thread fields both servers report
must agree. Resuming each thread (the runtime loads its history) shows the same turns.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import CODEX_HOMES

from .client import StdioClient

HOMES = sorted(p.name for p in CODEX_HOMES.iterdir() if p.is_dir())

# Fields that are the server's live view rather than the thread's record: Codex had the threads
# loaded when it answered; the path is absolute here and relative in expected.json; Codex took
# updatedAt from its clock a moment after the file's last write.
LIVE_FIELDS = {"status", "path", "updatedAt", "turns"}
# Fields both servers must report for the comparison to mean anything.
CORE_FIELDS = {"id", "preview", "name", "forkedFromId", "cwd", "cliVersion", "source", "gitInfo", "createdAt"}


@pytest.fixture(params=HOMES)
def codex_home_copy(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    target = tmp_path / request.param
    shutil.copytree(CODEX_HOMES / request.param, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target, json.loads((target / "expected.json").read_text())


def test_thread_read_with_turns_matches_codex(codex_home_copy: tuple[Path, dict[str, Any]]) -> None:
    home, expected = codex_home_copy
    reads = expected["reads"]
    assert set(reads) == set(expected["ids"]) == set("ABCDE")
    with StdioClient(f"local:{home}") as client:
        client.initialize()
        for key, thread_id in sorted(expected["ids"].items()):
            want = reads[key]["thread"]
            got = client.call("thread/read", {"threadId": thread_id, "includeTurns": True})["thread"]
            # Never vacuous: Codex reported turns with items for every thread of these homes.
            assert want["turns"], key
            assert all(turn["items"] for turn in want["turns"]), key
            assert got["turns"] == want["turns"], key

            shared = (set(got) & set(want)) - LIVE_FIELDS
            assert shared >= CORE_FIELDS, key
            assert {k: got[k] for k in shared} == {k: want[k] for k in shared}, key
            assert str(got["path"]).endswith(want["path"]), key
            assert abs(got["updatedAt"] - want["updatedAt"]) <= 1, key
        # The runtime rebuilds the same turns when it loads the thread (archived ones stay cold).
        for key in sorted(set(expected["ids"]) - {"D"}):
            resumed = client.call("thread/resume", {"threadId": expected["ids"][key]})["thread"]
            assert resumed["turns"] == reads[key]["thread"]["turns"], key
        assert client.close() == 0
