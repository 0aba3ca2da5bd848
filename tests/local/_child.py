"""A separate process that drives a LocalThreadStore, for the crash and race tests.

Usage: ``python _child.py <command> <home> <thread id> [args...]``. Every line it prints to stdout
is a JSON object, flushed at once, so the parent can follow it while it runs.

Commands:

``append-forever FSYNC``
    Create the thread, then append numbered items forever (batches of 1-4 items); after each
    ``flush_thread`` print ``{"acked": n}`` (the last number acknowledged).
``race START_AT N``
    Wait until the wall clock reaches ``START_AT``, then try to create (or, if the thread exists,
    resume) the thread. Print ``{"result": "won"}`` or ``{"result": "conflict", "message": ...}``.
    A winner then waits for a line on stdin, appends ``N`` items tagged with its pid, shuts the
    thread down and prints ``{"done": N}``.
``fill LIMIT ITEM_BYTES``
    Resume the thread, lower the soft ``RLIMIT_FSIZE`` to ``LIMIT`` bytes (``SIGXFSZ`` ignored, so
    writes past it fail with ``EFBIG``), append one item of about ``ITEM_BYTES`` and report the
    error; then append a small item that fits and report that; then lift the limit and shut down.
``fill-new LIMIT``
    Like ``fill`` for a brand-new thread whose very first line cannot be written.
``resume-append``
    Resume the thread, append one item, flush, shut down; print ``{"result": "appended"}``, or
    ``{"result": <error kind>, "message": ...}`` when any step is refused.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path

from threadstore import (
    AppendThreadItemsParams,
    Conflict,
    CreateThreadParams,
    ResumeThreadParams,
    ThreadStoreError,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._rollout.items import user_message


def emit(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def item(n: int, **extra: object) -> dict[str, object]:
    return {"type": "response_item", "payload": {"type": "message", "role": "user", "n": n, "content": [], **extra}}


async def append_forever(home: Path, tid: str, fsync: bool) -> None:
    store = LocalThreadStore(home, fsync=fsync)
    await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/srv/work", model_provider="test"))
    await store.append_items(AppendThreadItemsParams(tid, [user_message("kill me")]))
    n = 0
    while True:
        batch = [item(n + k, text="x" * (n % 300)) for k in range(1 + n % 4)]
        await store.append_items(AppendThreadItemsParams(tid, batch))
        n += len(batch)
        await store.flush_thread(tid)
        emit(acked=n - 1)


async def race(home: Path, tid: str, start_at: float, count: int) -> None:
    store = LocalThreadStore(home)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    try:
        try:
            await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/srv/work", model_provider="test"))
        except Conflict as exc:
            if "already exists" not in str(exc):
                raise
            await store.resume_thread(ResumeThreadParams(thread_id=tid))
    except Conflict as exc:
        emit(result="conflict", message=str(exc))
        await store.close()
        return
    emit(result="won")
    sys.stdin.readline()
    pid = os.getpid()
    for n in range(count):
        await store.append_items(AppendThreadItemsParams(tid, [item(n, pid=pid)]))
    await store.shutdown_thread(tid)
    await store.close()
    emit(done=count)


def _limit(soft: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


async def _try_append(store: LocalThreadStore, tid: str, payload: dict[str, object], label: str) -> None:
    try:
        await store.append_items(AppendThreadItemsParams(tid, [payload]))
        await store.flush_thread(tid)
    except ThreadStoreError as exc:
        emit(step=label, error=type(exc).__name__, message=str(exc))
    except Exception as exc:  # reported, not raised: the parent asserts on it
        emit(step=label, error="escaped:" + type(exc).__name__, message=str(exc))
    else:
        emit(step=label, error=None)


async def fill(home: Path, tid: str, limit: int, item_bytes: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    store = LocalThreadStore(home)
    await store.resume_thread(ResumeThreadParams(thread_id=tid))
    _limit(limit)
    await _try_append(store, tid, item(1000, text="y" * item_bytes), "big")
    await _try_append(store, tid, item(1001), "small")
    _limit(resource.RLIM_INFINITY)
    await store.shutdown_thread(tid)
    await store.close()


async def fill_new(home: Path, tid: str, limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    store = LocalThreadStore(home)
    await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/srv/work", model_provider="test"))
    _limit(limit)
    await _try_append(store, tid, user_message("first"), "first")
    _limit(resource.RLIM_INFINITY)
    await store.discard_thread(tid)
    await store.close()


async def resume_append(home: Path, tid: str) -> None:
    store = LocalThreadStore(home)
    try:
        await store.resume_thread(ResumeThreadParams(tid))
        await store.append_items(AppendThreadItemsParams(tid, [user_message("appended by the racer")]))
        await store.flush_thread(tid)
        await store.shutdown_thread(tid)
    except ThreadStoreError as exc:
        emit(result=exc.kind, message=str(exc))
    else:
        emit(result="appended")
    finally:
        await store.close()


def main() -> None:
    command, home, tid, *rest = sys.argv[1:]
    path = Path(home)
    if command == "append-forever":
        asyncio.run(append_forever(path, tid, rest[0] == "1"))
    elif command == "race":
        asyncio.run(race(path, tid, float(rest[0]), int(rest[1])))
    elif command == "fill":
        asyncio.run(fill(path, tid, int(rest[0]), int(rest[1])))
    elif command == "fill-new":
        asyncio.run(fill_new(path, tid, int(rest[0])))
    elif command == "resume-append":
        asyncio.run(resume_append(path, tid))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
