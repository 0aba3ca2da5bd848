"""Operations that change files hold the thread's writer lock from their checks to their last
change: a writer in another process that starts in between is refused, so nothing it
acknowledges can land in a file that is then deleted or moved."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from threadstore import ReadThreadParams, ThreadNotFound
from threadstore._backends.local import moves

from ._util import CHILD, history, make_thread, open_store


def _racer(home: Path, tid: str) -> dict[str, Any]:
    """Another process resumes the thread and appends to it, right now."""
    import sys

    out = subprocess.run(
        [sys.executable, str(CHILD), "resume-append", str(home), tid], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _racing_at(monkeypatch: pytest.MonkeyPatch, name: str, home: Path, tid: str) -> list[dict[str, Any]]:
    """Run the racer when the operation reaches ``moves.<name>`` (past its checks, before its
    file changes)."""
    seen: list[dict[str, Any]] = []
    real: Callable[..., Any] = getattr(moves, name)

    def hooked(*args: Any, **kwargs: Any) -> Any:
        seen.append(_racer(home, tid))
        return real(*args, **kwargs)

    monkeypatch.setattr(moves, name, hooked)
    return seen


async def test_a_resume_during_a_delete_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    try:
        tid = await make_thread(store, "doomed")
        seen = _racing_at(monkeypatch, "_rollouts_of", home, tid)
        await store.delete_thread(tid)
        assert [r["result"] for r in seen] == ["conflict"], seen
        with pytest.raises(ThreadNotFound):
            await store.read_thread(ReadThreadParams(tid, include_archived=True))
    finally:
        await store.close()
    # And once the delete is over, a resume finds nothing to write to.
    assert _racer(home, tid)["result"] == "thread_not_found"


async def test_a_resume_during_an_archive_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    try:
        tid = await make_thread(store, "moving")
        seen = _racing_at(monkeypatch, "_move", home, tid)
        await store.archive_thread(tid)
        assert [r["result"] for r in seen] == ["conflict"], seen
        monkeypatch.undo()
        texts = [i["payload"].get("message") for i in await history(store, tid, include_archived=True)]
        assert "appended by the racer" not in texts
    finally:
        await store.close()
