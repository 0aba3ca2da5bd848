"""Helpers shared by the local store's reliability tests."""

from __future__ import annotations

import hashlib
import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    LoadThreadHistoryParams,
    ThreadStore,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._rollout.items import Item, user_message

CHILD = Path(__file__).with_name("_child.py")


def open_store(home: Path, **kwargs: Any) -> LocalThreadStore:
    return LocalThreadStore(home, **kwargs)


def numbered(n: int) -> Item:
    """A persisted item that carries its sequence number."""
    return {"type": "response_item", "payload": {"type": "message", "role": "user", "n": n, "content": []}}


def numbers(items: list[Item]) -> list[int]:
    return [i["payload"]["n"] for i in items if i.get("type") == "response_item" and "n" in i.get("payload", {})]


async def make_thread(store: ThreadStore, *texts: str, shutdown: bool = True) -> str:
    """A materialized thread with one user message per text."""
    tid = new_thread_id()
    await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/srv/work", model_provider="test"))
    await store.append_items(AppendThreadItemsParams(tid, [user_message(t) for t in texts or ("hello",)]))
    if shutdown:
        await store.shutdown_thread(tid)
    else:
        await store.flush_thread(tid)
    return tid


async def history(store: ThreadStore, tid: str, include_archived: bool = False) -> list[Item]:
    return (await store.load_history(LoadThreadHistoryParams(tid, include_archived=include_archived))).items


def rollout_files(home: Path) -> list[Path]:
    return sorted(p for root in ("sessions", "archived_sessions") for p in (home / root).rglob("*.jsonl"))


def append_bytes(path: Path, *chunks: bytes) -> None:
    """Append to a file as another program would (no store involved)."""
    with open(path, "ab") as f:
        for chunk in chunks:
            f.write(chunk)


def rewrite_in_place(path: Path, data: bytes) -> None:
    """Overwrite a file's bytes keeping its inode (an editor saving in place)."""
    with open(path, "r+b") as f:
        f.write(data)
        f.truncate()


def snapshot(home: Path) -> dict[str, str]:
    """Every file of a home (except our private index and locks) with a hash of its bytes."""
    result: dict[str, str] = {}
    for path in sorted(home.rglob("*")):
        rel = path.relative_to(home)
        if rel.parts[0] == ".threadstore":
            continue
        result[str(rel)] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return result


def spawn(*args: str, stdin: int | None = subprocess.DEVNULL, child: Path = CHILD) -> subprocess.Popen[str]:
    """Start ``child`` (``_child.py`` by default) with the same interpreter (line-buffered text
    pipes)."""
    return subprocess.Popen(
        [sys.executable, "-u", str(child), *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def read_json_line(proc: subprocess.Popen[str], timeout: float = 20) -> dict[str, object]:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise AssertionError("child said nothing")
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"child exited: {proc.stderr.read() if proc.stderr else ''}")
    value = json.loads(line)
    assert isinstance(value, dict)
    return value


def reap(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
