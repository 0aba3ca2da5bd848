"""A separate process that drives a PostgresThreadStore, for the race, crash and restart tests.

Usage: ``python _child.py <command> <dsn> <thread id> [args...]``. Every line it prints to stdout
is a JSON object, flushed at once, so the parent can follow it while it runs.

Commands:

``race START_AT N``
    Wait until the wall clock reaches ``START_AT``, then try to create (or, if the thread exists,
    resume) the thread. Print ``{"result": "won"}`` or ``{"result": "conflict", "message": ...}``.
    A winner then waits for a line on stdin, appends ``N`` items tagged with its pid, shuts the
    thread down and prints ``{"done": N}``.
``append-forever LEASE_TTL``
    Create the thread (leases of ``LEASE_TTL`` seconds), then append numbered items forever
    (batches of 1-4); after each ``flush_thread`` print ``{"acked": n}`` (the last number
    acknowledged). Errors are printed as ``{"error": kind, "message": ...}`` and the loop goes
    on with the same batch, so a retried batch must never be stored twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from threadstore import (
    AppendThreadItemsParams,
    Conflict,
    CreateThreadParams,
    ListThreadsParams,
    ResumeThreadParams,
    ThreadStoreError,
)
from threadstore._backends.postgres import PostgresThreadStore
from threadstore._rollout.items import user_message


def emit(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def item(n: int, **extra: object) -> dict[str, object]:
    return {"type": "response_item", "payload": {"type": "message", "role": "user", "n": n, "content": [], **extra}}


async def race(dsn: str, tid: str, start_at: float, count: int) -> None:
    store = PostgresThreadStore(dsn, pool_size=2)
    await store.list_threads(ListThreadsParams(page_size=1))  # connected and migrated before the start
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


async def append_forever(dsn: str, tid: str, lease_ttl: float) -> None:
    store = PostgresThreadStore(dsn, pool_size=2, lease_ttl=lease_ttl, retry_for=60)
    await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/srv/work", model_provider="test"))
    await store.append_items(AppendThreadItemsParams(tid, [user_message("kill me")]))
    n = 0
    while True:
        batch = [item(n + k, text="x" * (n % 300)) for k in range(1 + n % 4)]
        try:
            await store.append_items(AppendThreadItemsParams(tid, batch))
            await store.flush_thread(tid)
        except ThreadStoreError as exc:
            emit(error=type(exc).__name__, message=str(exc))
            await asyncio.sleep(0.05)
            continue
        n += len(batch)
        emit(acked=n - 1)


def main() -> None:
    command, dsn, tid, *rest = sys.argv[1:]
    if command == "race":
        asyncio.run(race(dsn, tid, float(rest[0]), int(rest[1])))
    elif command == "append-forever":
        asyncio.run(append_forever(dsn, tid, float(rest[0])))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
