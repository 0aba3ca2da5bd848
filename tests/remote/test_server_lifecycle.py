"""Stopping: the server's stop and SIGTERM close the store with live threads flushed, a client's
close shuts its threads down, and a client outlives the event loops it is used from."""

from __future__ import annotations

from pathlib import Path

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    InMemoryThreadStore,
    ReadThreadParams,
    ResumeThreadParams,
    items,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.remote import RemoteThreadStore
from threadstore._server import RunningServer, start_server

from .conftest import ClientFactory


async def test_stop_closes_the_store_and_flushes_live_threads(client_factory: ClientFactory, tmp_path: Path) -> None:
    store = LocalThreadStore(tmp_path / "home", fsync=True)
    running = await start_server("127.0.0.1:0", store)
    client = RemoteThreadStore(running.url)
    tid = new_thread_id()
    await client.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
    await client.append_items(AppendThreadItemsParams(tid, [items.user_message("kept")]))
    await running.stop(grace=1)
    assert store._writers == {}  # shut down by the server's close
    async with LocalThreadStore(tmp_path / "home") as reopened:
        assert (await reopened.read_thread(ReadThreadParams(tid))).preview == "kept"
    client._live.clear()
    await client.close()


async def test_client_close_shuts_down_its_threads(
    server: RunningServer, client_factory: ClientFactory, backing_store: InMemoryThreadStore
) -> None:
    first = client_factory()
    tid = new_thread_id()
    await first.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
    await first.append_items(AppendThreadItemsParams(tid, [items.user_message("a")]))
    await first.close()
    second = client_factory()
    await second.resume_thread(ResumeThreadParams(thread_id=tid))  # no Conflict: the writer was released
    await second.append_items(AppendThreadItemsParams(tid, [items.agent_message("b")]))
    history = await second.read_thread(ReadThreadParams(tid, include_history=True))
    assert history.history is not None
    assert len(history.history.items) == 3


def test_a_client_survives_event_loop_changes(server_address: str) -> None:
    """The CLI pattern: one store object used from successive ``asyncio.run`` calls."""
    import asyncio

    client = RemoteThreadStore(f"grpc://{server_address}")
    tid = new_thread_id()
    asyncio.run(client.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p")))
    asyncio.run(client.append_items(AppendThreadItemsParams(tid, [items.user_message("x")])))
    assert asyncio.run(client.read_thread(ReadThreadParams(tid))).preview == "x"
    asyncio.run(client.close())


def test_sigterm_shuts_down_gracefully_and_flushes(tmp_path: Path) -> None:
    """A server process on a local store: SIGTERM closes the store (live threads flushed) and exits 0."""
    import asyncio
    import signal
    import subprocess
    import sys

    home = tmp_path / "home"
    process = subprocess.Popen(
        [sys.executable, "-m", "threadstore._server", "--listen", "127.0.0.1:0", "--store", f"local:{home}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    address = process.stdout.readline().split()[-1]
    tid = new_thread_id()

    async def write() -> None:
        client = RemoteThreadStore(f"grpc://{address}")
        await client.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
        await client.append_items(AppendThreadItemsParams(tid, [items.user_message("before sigterm")]))
        client._live.clear()  # leave the thread live on the server
        await client.close()

    asyncio.run(write())
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "shutting down" in err

    async def read() -> str:
        from threadstore._backends.local import LocalThreadStore

        store = LocalThreadStore(home)
        try:
            return (await store.read_thread(ReadThreadParams(tid))).preview
        finally:
            await store.close()

    assert asyncio.run(read()) == "before sigterm"
