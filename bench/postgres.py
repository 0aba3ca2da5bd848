"""Measure the PostgreSQL store beside the local store, in the same run.

    .venv/bin/python -m bench.postgres [--dsn DSN] [--threads N] [--search-threads N] [--items N] [--json]

Without ``--dsn`` a throwaway PostgreSQL server is started for the run (the same helper the tests
use, but with ``fsync`` on: every commit reaches the disk). Each figure gets a fresh database.
Figures: one durable append round trip (append + flush); appends per second with 16 concurrent
writers on 16 threads; a page of 50 threads at N threads (the first page and the 100th); search
at 10,000 threads (a rare and a common term); reading a 10,000-item thread; the Claude Agent
SDK's session store (``ThreadSessionStore``: one turn's append, a session's load). The local store is
measured on the same machine in the same run (``fsync=True`` for the durable figures).

The OpenAI Agents SDK figures (:mod:`bench.agents_session`) put ``ThreadSession`` on the
PostgreSQL store against the SDK's ``SQLAlchemySession`` (asyncpg) on the same server, each on a
fresh database, the SDK in the anchors' environment (:mod:`bench.envs`): an Agents turn
(``get_items`` + two ``add_items``, median of 50) and ``get_items(limit=50)`` of a 10,000-item
session (``SQLiteSession`` on a file beside them, for the bar on the tail).

Threads for the listing and search figures are seeded in bulk: for PostgreSQL with ``COPY`` of
rows composed by the store's own code (:mod:`threadstore._backends.postgres.rows`), for the local
store as rollout files that its index picks up, as it would a Codex home. Timings are medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    ListThreadsParams,
    LoadThreadHistoryParams,
    SearchThreadsParams,
    ThreadStore,
    _json,
    items,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.local.layout import Layout
from threadstore._backends.postgres import PostgresThreadStore
from threadstore._backends.postgres.rows import LISTING_COLUMNS, compose, fold, listing_values
from threadstore._backends.postgres.writer import new_thread_meta
from threadstore._contract.first_line import initial_session_meta
from threadstore._rollout.jsonl import encode_line
from threadstore._rollout.messages import search_texts
from threadstore._rollout.summary import ThreadSummary
from threadstore._time import format_rfc3339

from .measure import time_async
from .ours.claude_store import measure_session_store

MESSAGE = "x" * 400
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def _thread_items(n: int) -> tuple[str, list[dict[str, Any]], str]:
    tid = new_thread_id()
    created = BASE + timedelta(seconds=n)
    params = CreateThreadParams(thread_id=tid, cwd="/bench", model_provider="bench", created_at=created)
    stamp = format_rfc3339(created)
    return (
        tid,
        [initial_session_meta(params, stamp), items.user_message(f"question {n}"), items.agent_message(f"answer {n}")],
        stamp,
    )


# -- seeding ---------------------------------------------------------------------------------------


async def seed_postgres(dsn: str, count: int) -> None:
    """``count`` listed threads of three items each, written with COPY."""
    async with PostgresThreadStore(dsn) as store:
        await store.list_threads(ListThreadsParams())  # creates the schema
    columns = ", ".join(LISTING_COLUMNS)
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        async with conn.transaction():
            cur = conn.cursor()
            threads: list[tuple[Any, ...]] = []
            rows: list[tuple[Any, ...]] = []
            texts: list[tuple[Any, ...]] = []
            for n in range(count):
                tid, thread_items, stamp = _thread_items(n)
                summary = ThreadSummary(tid)
                for seq, item in enumerate(thread_items):
                    summary.add(item, stamp)
                    rows.append((tid, seq, stamp, _json.dumps(item)))
                    texts.extend((tid, seq, k, t.encode(), fold(t)) for k, t in enumerate(search_texts(item)))
                meta = new_thread_meta(BASE)
                values = listing_values(compose(tid, summary, meta), summary)
                threads.append((tid, BASE, len(thread_items), _json.dumps(summary.to_state()), *values))
            async with cur.copy(
                f"COPY threadstore.threads (thread_id, created_row, next_seq, summary, {columns}) FROM STDIN"
            ) as copy:
                for row in threads:
                    await copy.write_row(row)
            async with cur.copy("COPY threadstore.items (thread_id, seq, written_at, body) FROM STDIN") as copy:
                for row in rows:
                    await copy.write_row(row)
            async with cur.copy("COPY threadstore.texts (thread_id, seq, n, body, folded) FROM STDIN") as copy:
                for row in texts:
                    await copy.write_row(row)
        await conn.execute("ANALYZE")


def seed_local(home: Path, count: int) -> None:
    """``count`` rollout files of three items each, as another program would write them."""
    layout = Layout(home)
    for n in range(count):
        tid, thread_items, stamp = _thread_items(n)
        path = layout.new_rollout_path(BASE + timedelta(seconds=n), tid)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(encode_line(item, stamp) for item in thread_items))


# -- measurements ----------------------------------------------------------------------------------


async def append_round_trip(store: ThreadStore, repeat: int = 300) -> float:
    tid = new_thread_id()
    await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/bench", model_provider="bench"))
    item = items.agent_message(MESSAGE)

    async def one() -> None:
        await store.append_items(AppendThreadItemsParams(tid, [item]))
        await store.flush_thread(tid)

    await one()
    try:
        return await time_async(one, runs=repeat) * 1e3
    finally:
        await store.shutdown_thread(tid)


async def concurrent_appends(store: ThreadStore, writers: int = 16, each: int = 150) -> float:
    ids = [new_thread_id() for _ in range(writers)]
    for tid in ids:
        await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/bench", model_provider="bench"))
        await store.persist_thread(tid)
    item = items.agent_message(MESSAGE)

    async def writer(tid: str) -> None:
        for _ in range(each):
            await store.append_items(AppendThreadItemsParams(tid, [item]))
            await store.flush_thread(tid)

    started = time.perf_counter()
    await asyncio.gather(*(writer(t) for t in ids))
    rate = writers * each / (time.perf_counter() - started)
    for tid in ids:
        await store.shutdown_thread(tid)
    return rate


async def pages(store: ThreadStore) -> tuple[float, float]:
    """Median ms of the first page of 50 and of the 100th."""
    cursor: str | None = None
    for _ in range(99):
        cursor = (await store.list_threads(ListThreadsParams(cursor=cursor))).next_cursor
    assert cursor is not None, "fewer than 100 pages"
    first = await time_async(lambda: store.list_threads(ListThreadsParams()), runs=30)
    hundredth = await time_async(lambda: store.list_threads(ListThreadsParams(cursor=cursor)), runs=30)
    return first * 1e3, hundredth * 1e3


async def searches(store: ThreadStore, threads: int) -> tuple[float, float]:
    rare = await time_async(lambda: store.search_threads(SearchThreadsParams(f"question {threads // 2}")), runs=10)
    common = await time_async(lambda: store.search_threads(SearchThreadsParams("answer")), runs=10)
    return rare * 1e3, common * 1e3


async def read_long(store: ThreadStore, count: int) -> float:
    tid = new_thread_id()
    await store.create_thread(CreateThreadParams(thread_id=tid, cwd="/bench", model_provider="bench"))
    batch = [items.user_message(MESSAGE), items.agent_message(MESSAGE)] * 50
    for _ in range(count // len(batch)):
        await store.append_items(AppendThreadItemsParams(tid, batch))
    await store.shutdown_thread(tid)
    return await time_async(lambda: store.load_history(LoadThreadHistoryParams(tid)), runs=7) * 1e3


# -- the run ---------------------------------------------------------------------------------------


@contextmanager
def databases(dsn: str | None) -> Iterator[Callable[[], str]]:
    """A maker of fresh databases: on ``dsn``'s server, or on a throwaway durable one."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.postgres_server import PostgresServer

    server: PostgresServer | None = None
    if dsn is None:
        server = PostgresServer(durable=True)
        server.start()
        admin_dsn = server.dsn()
    else:
        admin_dsn = dsn
    made: list[str] = []

    def make() -> str:
        name = f"bench_{new_thread_id().replace('-', '')[:16]}"
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}".encode())
            conn.execute(f"ALTER DATABASE {name} SET synchronous_commit = on".encode())
        with psycopg.connect(admin_dsn.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as conn:
            conn.execute(b"CREATE EXTENSION IF NOT EXISTS pg_trgm")
        made.append(name)
        return admin_dsn.rsplit("/", 1)[0] + f"/{name}"

    try:
        yield make
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            for name in made:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())
        if server is not None:
            server.stop()


def agents_figures(make_db: Callable[[], str], turns: int, items: int, work: Path, rounds: int = 3) -> dict[str, Any]:
    """ThreadSession on PostgreSQL against SQLAlchemySession on the same server (and
    SQLiteSession on a file), each in a process of its own."""
    from .envs import anchors_python, run_module

    def ours(workload: str, params: dict[str, Any]) -> dict[str, float]:
        return run_module(sys.executable, "bench.ours", [workload, json.dumps(params)]).metrics

    def theirs(workload: str, params: dict[str, Any]) -> dict[str, float]:
        return run_module(anchors_python(), "bench.anchors.openai_sessions", [workload, json.dumps(params)]).metrics

    def median_of(run: Callable[[int], float]) -> float:
        return statistics.median(run(n) for n in range(rounds))

    out: dict[str, Any] = {}
    # Ours and theirs take turns, ``rounds`` times each on fresh databases (medians): the load of
    # a shared machine then weighs on both alike.
    turns_ours: list[float] = []
    turns_theirs: list[float] = []
    for _ in range(rounds):
        turns_ours.append(ours("agents_turns", {"dsn": make_db(), "count": turns})["turn_ms"])
        turns_theirs.append(theirs("turns", {"dsn": make_db(), "count": turns})["turn_ms"])
    out["agents_turn_pg_ms"] = statistics.median(turns_ours)
    out["agents_turn_sqlalchemy_pg_ms"] = statistics.median(turns_theirs)
    out["agents_turn_pg_vs_sqlalchemy"] = out["agents_turn_pg_ms"] / out["agents_turn_sqlalchemy_pg_ms"]
    out["agents_turn_sqlite_ms"] = median_of(
        lambda n: theirs("turns", {"work": str(work / f"sqlite-turns-{n}"), "count": turns})["turn_ms"]
    )
    out["agents_tail50_pg_ms"] = median_of(lambda n: ours("agents_tail", {"dsn": make_db(), "count": items})["tail50_ms"])
    out["agents_tail50_sqlalchemy_pg_ms"] = median_of(
        lambda n: theirs("tail", {"dsn": make_db(), "count": items})["tail50_ms"]
    )
    out["agents_tail50_sqlite_ms"] = median_of(
        lambda n: theirs("tail", {"work": str(work / f"sqlite-tail-{n}"), "count": items})["tail50_ms"]
    )
    out["agents_tail50_pg_vs_sqlite"] = out["agents_tail50_pg_ms"] / out["agents_tail50_sqlite_ms"]
    out["agents_tail50_pg_vs_sqlalchemy"] = out["agents_tail50_pg_ms"] / out["agents_tail50_sqlalchemy_pg_ms"]
    return out


async def claude_sessions(make_db: Callable[[], str], base: Path, turns: int) -> dict[str, Any]:
    """The Claude Agent SDK's session store (``ThreadSessionStore``) on PostgreSQL and on the local
    store: one turn's append (10 entries) and a load of a ``turns``-turn session."""
    async with PostgresThreadStore(make_db(), pool_size=4) as pg:
        on_pg = await measure_session_store(pg, turns)
    async with LocalThreadStore(base / "claude") as local:
        on_local = await measure_session_store(local, turns)
    return {
        "pg_claude_append_turn_ms": on_pg["append_ms"],
        f"pg_claude_load_{turns}_turns_ms": on_pg["load_ms"],
        "local_claude_append_turn_ms": on_local["append_ms"],
        f"local_claude_load_{turns}_turns_ms": on_local["load_ms"],
    }


async def run(
    make_db: Callable[[], str], threads: int, search_threads: int, history_items: int, claude_turns: int = 200
) -> dict[str, Any]:
    results: dict[str, Any] = {"threads": threads, "search_threads": search_threads, "history_items": history_items}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        results.update(await claude_sessions(make_db, base, claude_turns))

        async with PostgresThreadStore(make_db(), pool_size=16) as pg:
            results["pg_read_10k_items_ms"] = await read_long(pg, history_items)
            results["pg_append_round_trip_ms"] = await append_round_trip(pg)
            results["pg_16_writers_appends_per_s"] = await concurrent_appends(pg)
        async with LocalThreadStore(base / "durable", fsync=True) as local:
            results["local_fsync_append_round_trip_ms"] = await append_round_trip(local)
            results["local_fsync_16_writers_appends_per_s"] = await concurrent_appends(local)
        async with LocalThreadStore(base / "fast") as local:
            results["local_append_round_trip_ms"] = await append_round_trip(local)
            results["local_read_10k_items_ms"] = await read_long(local, history_items)
        results["pg_read_vs_local"] = results["pg_read_10k_items_ms"] / results["local_read_10k_items_ms"]

        dsn = make_db()
        await seed_postgres(dsn, threads)
        async with PostgresThreadStore(dsn) as pg:
            results["pg_list_first_page_ms"], results["pg_list_page_100_ms"] = await pages(pg)
        seed_local(base / "list", threads)
        async with LocalThreadStore(base / "list") as local:
            await local.list_threads(ListThreadsParams())  # indexes the new files
            results["local_list_first_page_ms"], results["local_list_page_100_ms"] = await pages(local)

        dsn = make_db()
        await seed_postgres(dsn, search_threads)
        async with PostgresThreadStore(dsn) as pg:
            results["pg_search_rare_ms"], results["pg_search_common_ms"] = await searches(pg, search_threads)
        seed_local(base / "search", search_threads)
        async with LocalThreadStore(base / "search") as local:
            await local.list_threads(ListThreadsParams())
            results["local_search_rare_ms"], results["local_search_common_ms"] = await searches(local, search_threads)
    return results


def _print_results(results: dict[str, Any], *, as_json: bool) -> None:
    """One JSON object, or one aligned ``name  value`` line per figure."""
    if as_json:
        print(json.dumps(results))
        return
    width = max(map(len, results))
    for key, value in results.items():
        shown = f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
        print(f"{key:<{width}}  {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", help="a PostgreSQL server to use (a database is created per figure)")
    parser.add_argument("--threads", type=int, default=100_000, help="threads for the listing figures")
    parser.add_argument("--search-threads", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=10_000, help="items in the thread that is read back")
    parser.add_argument("--claude-turns", type=int, default=200, help="turns of the Claude session appended and read")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--only-agents", action="store_true", help="only the OpenAI Agents SDK figures")
    args = parser.parse_args()
    with databases(args.dsn) as make_db, tempfile.TemporaryDirectory() as work:
        results = (
            {}
            if args.only_agents
            else asyncio.run(run(make_db, args.threads, args.search_threads, args.items, args.claude_turns))
        )
        results.update(agents_figures(make_db, 50, args.items, Path(work)))
    _print_results(results, as_json=args.json)


if __name__ == "__main__":
    main()
