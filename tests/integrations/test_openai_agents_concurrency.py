"""Sessions of one ``session_id`` in several processes at once (web workers): no ``Conflict``
reaches the SDK user, no item is lost, each batch is stored whole; a process that dies holding
the writer blocks the session for a bounded time; the SDK is optional."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from threadstore import Conflict, InMemoryThreadStore, ResumeThreadParams
from threadstore.integrations.openai_agents import ThreadSession, session_thread_id

from .conftest import ServerThread, plain, url_of

WORKERS = 3
BATCHES = 6
BATCH = 5

# Worker processes fork from a server that imported the SDK and the backends once (spawning
# each worker afresh costs seconds of imports on a small machine).
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(
    [
        "threadstore.integrations.openai_agents",
        "threadstore._backends.local",
        "threadstore._backends.postgres",
        "threadstore._backends.remote",
        "tests.integrations.test_openai_agents_concurrency",
    ]
)


def _worker(url: str, worker: int) -> None:
    async def go() -> None:
        session = ThreadSession("shared", url, wait_timeout=60)
        for b in range(BATCHES):
            await session.add_items(
                [{"role": "user", "content": f"w{worker} b{b} i{i}"} for i in range(BATCH)]
            )
        await session.close()

    asyncio.run(go())


def _check_batches(items: list[dict[str, object]], workers: int) -> None:
    texts = [str(item["content"]) for item in items]
    assert len(texts) == len(set(texts)) == workers * BATCHES * BATCH  # nothing lost or doubled
    for start in range(0, len(texts), BATCH):  # each batch whole, in order
        head = texts[start].rsplit(" ", 1)[0]
        assert texts[start : start + BATCH] == [f"{head} i{i}" for i in range(BATCH)]
    for worker in range(workers):  # each worker's batches in its own order
        mine = [t.rsplit(" ", 1)[0] for t in texts[::BATCH] if t.startswith(f"w{worker} ")]
        assert mine == [f"w{worker} b{b}" for b in range(BATCHES)]


@pytest.mark.parametrize("kind", ["local", "postgres", "server"])
def test_concurrent_processes_lose_nothing(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = url_of(kind, tmp_path, request)
    workers = [_CONTEXT.Process(target=_worker, args=(url, n)) for n in range(WORKERS)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    session = ThreadSession("shared", url)
    items = plain(asyncio.run(session.get_items()))
    asyncio.run(session.close())
    _check_batches(items, WORKERS)


async def test_concurrent_tasks_on_one_store_lose_nothing() -> None:
    store = InMemoryThreadStore()

    async def worker(n: int) -> None:
        session = ThreadSession("shared", store)  # a session object per request, as a web app makes
        for b in range(BATCHES):
            await session.add_items([{"role": "user", "content": f"w{n} b{b} i{i}"} for i in range(BATCH)])
            await session.get_items(limit=3)

    await asyncio.gather(*(worker(n) for n in range(WORKERS)))
    _check_batches(plain(await ThreadSession("shared", store).get_items()), WORKERS)


async def test_a_write_finishes_when_its_caller_is_cancelled() -> None:
    store = InMemoryThreadStore()
    session = ThreadSession("cancelled", store)
    task = asyncio.ensure_future(session.add_items([{"role": "user", "content": "survives"}]))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if plain(await session.get_items()):
            break
        await asyncio.sleep(0.01)
    assert plain(await session.get_items()) == [{"role": "user", "content": "survives"}]


_HOLDER = """
import asyncio, sys
from threadstore import ResumeThreadParams, open_store
url, thread_id = sys.argv[1], sys.argv[2]
options = {"lease_ttl": 2.0} if url.startswith("postgresql") else {}
async def main():
    store = open_store(url, **options)
    await store.resume_thread(ResumeThreadParams(thread_id, include_archived=True))
    print("holding", flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


@pytest.mark.parametrize("kind", ["local", "postgres", "server"])
def test_a_dead_writer_blocks_for_a_bounded_time(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """local: the kernel drops the dead process's lock at once; PostgreSQL: its lease expires
    (lease_ttl, 2 s here); server: the server releases the idle writer (1 s here)."""
    server: ServerThread | None = None
    if kind == "server":
        server = ServerThread(tmp_path / "served", idle_writer_timeout=1.0)
        url = server.url
    else:
        url = url_of(kind, tmp_path, request)
    try:
        session = ThreadSession("blocked", url, wait_timeout=30)
        asyncio.run(session.add_items([{"role": "user", "content": "before"}]))
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, url, session_thread_id("blocked")],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"holding"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        started = time.monotonic()
        asyncio.run(session.add_items([{"role": "user", "content": "after"}]))
        waited = time.monotonic() - started
        bound = {"local": 1.0, "postgres": 2.0 + 3.0, "server": 1.0 + 3.0}[kind]
        assert waited < bound, f"waited {waited:.2f} s"
        assert [i["content"] for i in plain(asyncio.run(session.get_items()))] == ["before", "after"]
        asyncio.run(session.close())
    finally:
        if server is not None:
            server.stop()


def test_the_sdk_is_optional() -> None:
    """``threadstore.integrations`` imports without the SDK; the adapter names the extra."""
    code = (
        "import sys; sys.modules['agents'] = None\n"
        "import threadstore.integrations\n"
        "try:\n"
        "    import threadstore.integrations.openai_agents\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'threadstore[agents]'" in done.stdout


async def test_a_busy_thread_times_out_with_conflict() -> None:
    store = InMemoryThreadStore()
    session = ThreadSession("busy", store, wait_timeout=0.2)
    await session.add_items([{"role": "user", "content": "x"}])
    await store.resume_thread(ResumeThreadParams(session.thread_id))  # someone holds it, and never lets go
    with pytest.raises(Conflict, match="stayed busy"):
        await session.add_items([{"role": "user", "content": "y"}])
    await store.shutdown_thread(session.thread_id)
    await session.add_items([{"role": "user", "content": "y"}])
    assert len(plain(await session.get_items())) == 2
