"""A mirror following homes while they are written to, as Codex writes them: lines, new
threads, forks, renames, archiving, compression and deletion reach the target within moments,
exactly."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import zstandard

from threadstore import InMemoryThreadStore, ReadThreadParams, ThreadStore
from threadstore._contract.types import GitInfo
from threadstore._mirror.checkpoint import HOST_LABEL, Checkpoint, source_key
from threadstore.errors import ThreadNotFound

from ..fixtures import CODEX_HOME_0125, CODEX_HOME_0169
from .support import append, codex_home, codex_line, eventually, rename, rollout_of, running

THREAD_A_0125 = "01a211bf-81da-7c93-9c38-b2117fbac6d3"
THREAD_B_0125 = "01a211bf-8341-7ed1-961c-fbeaabf490cf"
THREAD_D_0125 = "01a211bf-84ac-7211-aa07-ea80033ee564"  # archived in the fixture
THREAD_A_0169 = "01a211bf-a202-72e0-abc9-a87cf784d36a"


def _new_rollout(home: Path, thread_id: str, *, fork_of: tuple[str, int] | None = None) -> Path:
    day = home / "sessions" / "2031" / "02" / "03"
    day.mkdir(parents=True, exist_ok=True)
    path = day / f"rollout-2031-02-03T04-05-06-{thread_id}.jsonl"
    payload: dict[str, object] = {"id": thread_id, "timestamp": "2031-02-03T04:05:06.000Z", "cwd": "/srv/w"}
    payload.update(originator="codex_cli_rs", cli_version="0.171.0", source="cli", model_provider="fake")
    if fork_of is not None:
        payload.update(forked_from_id=fork_of[0], forked_from_ordinal_exclusive=fork_of[1], history_mode="paginated")
    meta: dict[str, object] = {"timestamp": "2031-02-03T04:05:06.000Z"}
    if fork_of is not None:
        meta["ordinal"] = fork_of[1]  # (as Codex numbers the lines of a paginated thread)
    meta.update(type="session_meta", payload=payload)
    append(path, json.dumps(meta, separators=(",", ":")).encode() + b"\n")
    return path


async def test_what_codex_writes_follows_within_moments(target: ThreadStore, tmp_path: Path) -> None:
    home = codex_home(CODEX_HOME_0125, tmp_path / "home")
    async with running(target, home, host_label="live") as mirror:
        await mirror.exact(target, home)
        # Lines of a running turn.
        path = rollout_of(home, THREAD_A_0125)
        started = time.monotonic()
        for n in range(5):
            append(path, codex_line(f"line {n}"))
            await mirror.exact(target, home)
        assert time.monotonic() - started < 5
        # A new thread, on a new day.
        new = "01a3c0de-0000-7000-8000-000000000001"
        created = _new_rollout(home, new)
        append(created, codex_line("hello", kind="user_message"))
        await mirror.exact(target, home)
        # Renamed, archived, unarchived.
        rename(home, THREAD_B_0125, "Renamed live", legacy=True)
        archived = home / "archived_sessions" / rollout_of(home, THREAD_B_0125).name
        os.rename(rollout_of(home, THREAD_B_0125), archived)
        os.rename(rollout_of(home, THREAD_D_0125), created.parent / rollout_of(home, THREAD_D_0125).name)
        await mirror.exact(target, home)
        b = await target.read_thread(ReadThreadParams(THREAD_B_0125, include_archived=True))
        assert b.archived
        assert b.name == "Renamed live"
        assert not (await target.read_thread(ReadThreadParams(THREAD_D_0125))).archived
        # Compressed by Codex later: the same thread, nothing moves.
        packed = path.with_name(path.name + ".zst")
        packed.write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
        os.unlink(path)
        await mirror.exact(target, home)
    kinds = mirror.kinds()
    assert "rewritten" not in kinds
    assert "stopped" not in kinds
    assert {"created", "appended", "archived", "unarchived"} <= set(kinds)
    thread = await target.read_thread(ReadThreadParams(new))
    assert thread.labels[HOST_LABEL] == "live"
    # Once stopped, every checkpoint is exact (not open).
    key = source_key("live", home.resolve())
    checkpoint = Checkpoint.decode(thread.labels[key])
    assert checkpoint is not None
    assert not checkpoint.open


def _state_database(home: Path) -> sqlite3.Connection:
    """A state database as Codex of the 0.169 era keeps one (the columns the mirror reads)."""
    db = sqlite3.connect(home / "state_5.sqlite")
    db.execute(
        "CREATE TABLE threads (id TEXT PRIMARY KEY, memory_mode TEXT NOT NULL DEFAULT 'enabled', "
        "git_sha TEXT, git_branch TEXT, git_origin_url TEXT, title TEXT)"
    )
    db.commit()
    return db


async def test_paginated_threads_follow_forks_renames_memory_mode_and_git(tmp_path: Path) -> None:
    """Codex of the 0.169 era forks by reference, renames in ``session_index.jsonl`` only and
    keeps memory mode and git facts in its state database: all of it reaches the target, and
    the lines stay exact."""
    target = InMemoryThreadStore()
    home = codex_home(CODEX_HOME_0169, tmp_path / "home")
    db = _state_database(home)
    async with running(target, home) as mirror:
        await mirror.exact(target, home)
        fork = "01a3c0de-0000-7000-8000-0000000000f0"
        path = _new_rollout(home, fork, fork_of=(THREAD_A_0169, 12))
        append(path, codex_line("in the fork", ordinal=12))
        await mirror.exact(target, home)
        rename(home, fork, "A fork", legacy=False)
        db.execute(
            "INSERT INTO threads (id, memory_mode, git_sha, git_branch) VALUES (?, 'disabled', 'abc123', 'main')",
            (fork,),
        )
        db.commit()

        async def followed() -> bool:
            thread = await target.read_thread(ReadThreadParams(fork))
            return thread.memory_mode == "disabled" and thread.git_info is not None and thread.name == "A fork"

        await eventually(followed)
        await mirror.exact(target, home)
    db.close()
    thread = await target.read_thread(ReadThreadParams(fork))
    assert thread.forked_from_id == THREAD_A_0169
    assert thread.git_info == GitInfo(commit_hash="abc123", branch="main")


async def test_deletes_follow_only_with_the_follow_policy(tmp_path: Path) -> None:
    for policy, survives in (("keep", True), ("follow", False)):
        target = InMemoryThreadStore()
        home = codex_home(CODEX_HOME_0125, tmp_path / policy)
        async with running(target, home, delete_policy=policy) as mirror:
            await mirror.exact(target, home)
            rollout_of(home, THREAD_A_0125).unlink()
            expected = "kept" if survives else "deleted"
            await eventually(lambda: _has(mirror.kinds(), expected))  # noqa: B023
            await mirror.exact(target, home)
        try:
            await target.read_thread(ReadThreadParams(THREAD_A_0125))
            exists = True
        except ThreadNotFound:
            exists = False
        assert exists is survives


async def _has(kinds: list[str], kind: str) -> bool:
    return kind in kinds
