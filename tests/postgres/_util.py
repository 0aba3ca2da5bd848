"""Helpers of the PostgreSQL store's own tests."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from threadstore import AppendThreadItemsParams, CreateThreadParams, LoadThreadHistoryParams, ThreadStore, new_thread_id
from threadstore.items import Item, user_message

CHILD = Path(__file__).with_name("_child.py")


def spawn(*args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen[str]:
    """Start ``_child.py`` with the same interpreter (line-buffered text pipes)."""
    return subprocess.Popen(
        [sys.executable, "-u", str(CHILD), *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def read_json_line(proc: subprocess.Popen[str], timeout: float = 30) -> dict[str, Any]:
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


def numbers(items: list[Item]) -> list[int]:
    return [i["payload"]["n"] for i in items if i.get("type") == "response_item" and "n" in i.get("payload", {})]


async def make_thread(store: ThreadStore, *texts: str, shutdown: bool = True) -> str:
    """A materialized thread with one user message per text."""
    tid = new_thread_id()
    await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/work", model_provider="test"))
    await store.append_items(AppendThreadItemsParams(tid, [user_message(t) for t in texts or ("hello",)]))
    if shutdown:
        await store.shutdown_thread(tid)
    return tid


async def history(store: ThreadStore, tid: str) -> list[Item]:
    return (await store.load_history(LoadThreadHistoryParams(tid, include_archived=True))).items


def sql(dsn: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    """Run one statement directly on the database (what another program would see)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(query.encode(), args or None)
        return cur.fetchall() if cur.description else []
