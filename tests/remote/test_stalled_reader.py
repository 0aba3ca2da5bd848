"""A gRPC client that asks for a large history many times and stops reading (its process is
stopped): ``threadstore serve`` builds a few histories at a time, counts what waits unread against
its budget, drops the silent connection when its pings go unanswered, and keeps its memory within
bounds (its resident size is sampled from /proc) while an honest client is answered throughout."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    ListThreadsParams,
    LoadThreadHistoryParams,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.remote import RemoteThreadStore
from threadstore._rollout.items import agent_message, user_message

from .server_process import serving

#: What the stalled client may add to the server's resident memory (unbounded, it grew by
#: gigabytes: every answer it asked for was built and kept).
GROWTH_LIMIT_KIB = 200 * 1024
CALLS = 40

_STALLED = """
import os, signal, sys, time
import grpc
from threadstore._wire._proto import thread_store_pb2 as pb

address, thread_id, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", -1)])
load = channel.unary_unary("/codex.thread_store.v1.ThreadStore/LoadHistory")
request = pb.LoadThreadHistoryRequest(thread_id=thread_id).SerializeToString()
pending = [load.future(request) for _ in range(calls)]
print("asked", flush=True)
time.sleep(1.0)
os.kill(os.getpid(), signal.SIGSTOP)  # reads nothing from now on
"""


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _seed(home: Path) -> str:
    """A thread of about 8 MiB."""
    thread_id = new_thread_id()
    async with LocalThreadStore(home) as store:
        await store.create_thread(CreateThreadParams(thread_id=thread_id, cwd="/srv/big", model_provider="openai"))
        for n in range(16):
            text = f"{n} " + "t" * (256 * 1024)
            await store.append_items(AppendThreadItemsParams(thread_id, [user_message(text), agent_message(text)]))
        await store.shutdown_thread(thread_id)
    return thread_id


@contextmanager
def _stalled_client(address: str, thread_id: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_STALLED), address, thread_id, str(CALLS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "asked"
        yield process
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)


async def test_a_client_that_stops_reading_is_bounded_and_dropped(tmp_path: Path) -> None:
    home = tmp_path / "home"
    thread_id = await _seed(home)
    limits = ["--keepalive", "1", "--max-unread-mb", "32", "--history-builds", "2"]
    with serving(f"local:{home}", limits) as (address, pid):
        honest = RemoteThreadStore(f"grpc://{address}", timeout=60)
        try:
            history = await honest.load_history(LoadThreadHistoryParams(thread_id))
            size = len(history.items)
            baseline = _rss_kib(pid)
            peak = baseline
            with _stalled_client(address, thread_id):
                for _ in range(30):  # about six seconds: the silent connection is dropped meanwhile
                    page = await honest.list_threads(ListThreadsParams())
                    assert [t.thread_id for t in page.items] == [thread_id]
                    peak = max(peak, _rss_kib(pid))
                    await asyncio.sleep(0.2)
                again = await honest.load_history(LoadThreadHistoryParams(thread_id))
                assert len(again.items) == size
                peak = max(peak, _rss_kib(pid))
        finally:
            await honest.close()
    assert peak - baseline < GROWTH_LIMIT_KIB, f"resident memory grew by {(peak - baseline) // 1024} MiB"
