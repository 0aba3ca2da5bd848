"""Helpers of the mirror tests: Codex homes to mirror, lines written the way Codex writes
them, a mirror running in the background, and the exactness check."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from threadstore import ThreadStore
from threadstore._compressed import read_file
from threadstore._mirror.engine import Mirror
from threadstore._mirror.events import MirrorEvent
from threadstore._mirror.options import MirrorOptions, MirrorReport
from threadstore._rollout.files import thread_id_from_name
from threadstore._rollout.session_index import parse_names
from threadstore._transfer.record import read_record, rollout_bytes


def codex_home(fixture: Path, where: Path) -> Path:
    """A writable copy of a fixture Codex home."""
    shutil.copytree(fixture, where, ignore=shutil.ignore_patterns("expected.json"))
    for path in where.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return where


def rollouts(home: Path) -> dict[str, Path]:
    """Every rollout of a home by thread id."""
    found: dict[str, Path] = {}
    for path in sorted(home.rglob("rollout-*.jsonl*")):
        thread_id = thread_id_from_name(path.name)
        if thread_id is not None:
            found[thread_id] = path
    return found


def rollout_of(home: Path, thread_id: str) -> Path:
    return rollouts(home)[thread_id]


def codex_line(text: str, *, kind: str = "agent_message", ordinal: int | None = None) -> bytes:
    """One rollout line as Codex writes it (compact JSON, ``timestamp`` first)."""
    line: dict[str, Any] = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
    if ordinal is not None:
        line["ordinal"] = ordinal
    line.update(type="event_msg", payload={"type": kind, "message": text})
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def append(path: Path, *lines: bytes) -> None:
    """Append lines to a rollout, each in its own write (as Codex flushes each line)."""
    with open(path, "ab") as f:
        for line in lines:
            f.write(line)
            f.flush()


def rename(home: Path, thread_id: str, name: str, *, legacy: bool) -> None:
    """Name a thread as Codex does: in ``session_index.jsonl``, and for a thread of the 0.125
    era first with a ``thread_name_updated`` line in its rollout."""
    if legacy:
        line = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "type": "event_msg",
            "payload": {"type": "thread_name_updated", "thread_id": thread_id, "thread_name": name},
        }
        append(rollout_of(home, thread_id), json.dumps(line, separators=(",", ":")).encode() + b"\n")
    entry = {"id": thread_id, "thread_name": name, "updated_at": "2026-01-01T00:00:00Z"}
    with open(home / "session_index.jsonl", "a") as f:
        f.write(json.dumps(entry) + "\n")


async def differences(target: ThreadStore, home: Path) -> list[str]:
    """How the target differs from the home: each rollout must be a thread of the target with
    the same bytes, archived where the rollout is archived, named as ``session_index.jsonl``
    names it. Empty when the target is an exact copy."""
    found: list[str] = []
    names = parse_names((home / "session_index.jsonl").read_bytes()) if (home / "session_index.jsonl").exists() else {}
    for thread_id, path in rollouts(home).items():
        try:
            record = await read_record(target, thread_id)
        except Exception as exc:
            found.append(f"{thread_id}: {exc!r}")
            continue
        if rollout_bytes(record) != read_file(path):
            found.append(f"{thread_id}: the lines differ")
        if record.thread.archived != (path.parent.name == "archived_sessions"):
            found.append(f"{thread_id}: archived={record.thread.archived}")
        if thread_id in names and record.thread.name != (names[thread_id] or None):
            found.append(f"{thread_id}: name {record.thread.name!r}, not {names[thread_id]!r}")
    return found


async def mirror_once(target: ThreadStore, *homes: Path, **options: Any) -> MirrorReport:
    """One ``--once`` run."""
    return await Mirror(target, list(homes), MirrorOptions(once=True, **options)).run()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Wait until ``check()`` is true (fails the test after ``within`` seconds)."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {within} s")
        await asyncio.sleep(0.05)


class Running:
    """A mirror running in the background, with the events it reported."""

    def __init__(self, mirror: Mirror) -> None:
        self.mirror = mirror
        self.events: list[MirrorEvent] = []

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    async def exact(self, target: ThreadStore, home: Path, within: float = 10.0) -> None:
        """Wait until the target is an exact copy of ``home``."""
        last: list[str] = []

        async def check() -> bool:
            nonlocal last
            last = await differences(target, home)
            return not last

        try:
            await eventually(check, within)
        except AssertionError:
            raise AssertionError(f"the target is not an exact copy: {last}") from None


@asynccontextmanager
async def running(target: ThreadStore, *homes: Path, **options: Any) -> AsyncIterator[Running]:
    """Run a mirror in the background (idle writers closed after 0.3 s) until the block ends."""
    options.setdefault("idle", 0.3)
    box: list[Running] = []
    mirror = Mirror(target, list(homes), MirrorOptions(**options), on_event=lambda e: box[0].events.append(e))
    box.append(Running(mirror))
    task = asyncio.create_task(mirror.run())
    try:
        await eventually(lambda: _true(mirror.status().caught_up or task.done()))
        if task.done():
            task.result()
        yield box[0]
    finally:
        mirror.stop()
        await task


async def _true(value: bool) -> bool:
    return value
