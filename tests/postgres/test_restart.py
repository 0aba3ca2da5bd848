"""PostgreSQL restarted (``pg_ctl restart -m fast``) while writers run: retries, not data loss."""

from __future__ import annotations

import os
import signal
import subprocess

import psycopg
import pytest

from threadstore import AppendThreadItemsParams, ListThreadsParams, ReadThreadParams, new_thread_id
from threadstore._backends.postgres.db import Connection
from threadstore._backends.postgres.writer import PostgresWriter, _Batch
from threadstore._rollout.items import Item

from ..postgres_server import PostgresServer
from ._util import history, make_thread, numbers, read_json_line, reap, spawn
from .conftest import StoreFactory


def _acks_until(proc: subprocess.Popen[str], target: int, errors: list[dict[str, object]]) -> int:
    acked = -1
    while acked < target:
        line = read_json_line(proc, timeout=90)
        if "error" in line:
            errors.append(line)
            continue
        acked = int(str(line["acked"]))
    return acked


async def test_a_restart_while_writers_run_loses_and_duplicates_nothing(
    open_pg: StoreFactory, postgres_dsn: str, postgres_server: PostgresServer
) -> None:
    ids = [new_thread_id() for _ in range(3)]
    procs = [spawn("append-forever", postgres_dsn, tid, "30") for tid in ids]
    reader = open_pg()
    errors: list[dict[str, object]] = []
    try:
        before = [_acks_until(p, 30, errors) for p in procs]
        await reader.list_threads(ListThreadsParams())  # the reader's pool holds a connection now
        postgres_server.restart()
        # Every writer gets going again by itself, with the same store and the same writer.
        acked = [_acks_until(p, b + 40, errors) for p, b in zip(procs, before, strict=True)]
        for proc in procs:
            os.kill(proc.pid, signal.SIGKILL)
    finally:
        reap(procs)
    # The reader's pool recovered by itself: its dead connection was replaced.
    listed = (await reader.list_threads(ListThreadsParams())).items
    assert {t.thread_id for t in listed} == set(ids)
    for tid, last in zip(ids, acked, strict=True):
        found = numbers(await history(reader, tid))
        assert found == list(range(len(found))), f"{tid}: duplicated or missing items"
        assert len(found) > last, f"{tid}: an acknowledged item was lost"
        assert (await reader.read_thread(ReadThreadParams(tid))).thread_id == tid
    # Errors are allowed only as clear store errors (the child prints their kind).
    assert all(e["error"] in ("Internal", "Conflict") for e in errors), errors


@pytest.mark.parametrize("key", [None, "with-an-idempotency-key"])
async def test_an_append_whose_acknowledgement_was_lost_is_not_stored_twice(
    open_pg: StoreFactory, monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    store = open_pg()
    tid = await make_thread(store, "before", shutdown=False)
    original = PostgresWriter._append
    calls = 0

    async def commit_then_lose_the_connection(self: PostgresWriter, conn: Connection, batch: _Batch) -> None:
        nonlocal calls
        calls += 1
        await original(self, conn, batch)
        if calls == 1:
            raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(PostgresWriter, "_append", commit_then_lose_the_connection)
    item: Item = {"type": "response_item", "payload": {"type": "message", "role": "user", "n": 0, "content": []}}
    await store.append_items(AppendThreadItemsParams(tid, [item], idempotency_key=key))
    assert calls == 2  # retried on a fresh connection
    await store.append_items(AppendThreadItemsParams(tid, [{**item, "payload": {**item["payload"], "n": 1}}]))
    await store.shutdown_thread(tid)
    assert numbers(await history(store, tid)) == [0, 1]
