"""A rollout path in a request is refused unless it names the thread's own rollout in the home:
nothing outside it is read or written."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from threadstore import (
    InvalidRequest,
    ListThreadsParams,
    ReadThreadByRolloutPathParams,
    ResumeThreadParams,
    StoredThread,
    ThreadNotFound,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore

from .helpers import refused


def _resume_from(store: LocalThreadStore, thread_id: str, path: str) -> Callable[[], Awaitable[None]]:
    """The call that resumes ``thread_id`` from the rollout at ``path`` (its parameters are made,
    and checked, when it runs)."""
    return lambda: store.resume_thread(ResumeThreadParams(thread_id=thread_id, rollout_path=path))


def _read_from(store: LocalThreadStore, path: str) -> Callable[[], Awaitable[StoredThread]]:
    """The call that reads the thread of the rollout at ``path``."""
    return lambda: store.read_thread_by_rollout_path(ReadThreadByRolloutPathParams(path))


async def test_path_traversal_and_non_rollout_paths(tmp_path: Path, home: Path, store: LocalThreadStore) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious\n")
    tid = new_thread_id()
    cold = (await store.list_threads(ListThreadsParams())).items[0]
    cold_path = Path(cold.rollout_path or "")
    not_rollouts = [
        str(victim),
        "../victim.txt",  # relative to the home
        "session_index.jsonl",
        str(home / "sessions"),  # a directory
        str(home / ".threadstore" / "index.sqlite3"),
        str(home / "sessions" / "missing.jsonl"),
        str(home / "sessions" / ".." / ".." / "victim.txt"),
        "x" * 5000,  # a name too long for the file system
        "a\x00b",
        "/dev/null",
    ]
    for path in not_rollouts:
        before = victim.read_bytes()
        message = await refused(home, _resume_from(store, tid, path))
        assert "rollout" in message
        await refused(home, _resume_from(store, cold.thread_id, path))
        await refused(home, _read_from(store, path))
        assert victim.read_bytes() == before
    # The rollout of another thread cannot be resumed under this id, even renamed.
    renamed = tmp_path / "renamed.jsonl"
    renamed.write_bytes(cold_path.read_bytes())
    for path in (str(cold_path), str(renamed)):
        await refused(home, _resume_from(store, tid, path))
    assert renamed.read_bytes() == cold_path.read_bytes()
    # Nothing stayed live.
    with pytest.raises(ThreadNotFound):
        await store.flush_thread(tid)
    await store.resume_thread(ResumeThreadParams(thread_id=cold.thread_id))
    await store.shutdown_thread(cold.thread_id)


async def test_empty_rollout_path_is_refused(home: Path) -> None:
    with pytest.raises(InvalidRequest):
        ReadThreadByRolloutPathParams("")
    with pytest.raises(InvalidRequest):
        ReadThreadByRolloutPathParams(123)  # type: ignore[arg-type]
