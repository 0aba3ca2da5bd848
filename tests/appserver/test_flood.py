"""A WebSocket client that floods the app server with requests for large answers and never reads
them: the server reads no more of its requests once its answers pile up, then disconnects it, and
keeps its memory within bounds (its resident size is sampled from /proc) while an honest client
is answered throughout."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import threading
import time
from pathlib import Path

from threadstore import AppendThreadItemsParams, CreateThreadParams, new_thread_id
from threadstore._backends.local import LocalThreadStore
from threadstore._rollout.items import agent_message, user_message

from .wsclient import WsClient, app_server_process

#: What the flood may add to the server's resident memory (unbounded, it grew by gigabytes).
GROWTH_LIMIT_KIB = 160 * 1024
#: Requests the flood sends, each asking for about 1 MiB.
FLOOD = 600


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _seed(home: Path) -> str:
    """A thread whose history is about 1 MiB of text."""
    thread_id = new_thread_id()
    async with LocalThreadStore(home) as store:
        await store.create_thread(CreateThreadParams(thread_id=thread_id, cwd="/srv/flood", model_provider="openai"))
        for n in range(16):
            items = [user_message(f"question {n} " + "q" * 32_000), agent_message(f"answer {n} " + "a" * 32_000)]
            await store.append_items(AppendThreadItemsParams(thread_id, items))
        await store.shutdown_thread(thread_id)
    return thread_id


def _frame(message: dict[str, object]) -> bytes:
    """One masked client text frame."""
    payload = json.dumps(message).encode()
    mask = os.urandom(4)
    size = len(payload)
    header = bytes([0x81])
    if size < 126:
        header += bytes([0x80 | size])
    elif size < 1 << 16:
        header += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", size)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class _Flooder:
    """A raw WebSocket connection that sends requests and reads nothing after the handshake."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("ws://").rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def flood(self, thread_id: str) -> None:
        """Send the requests until the server stops taking them (its socket fills up)."""
        self.sock.settimeout(5)
        try:
            self.sock.sendall(_frame({"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "f"}}}))
            for n in range(1, FLOOD + 1):
                request = {"id": n, "method": "thread/read", "params": {"threadId": thread_id, "includeTurns": True}}
                self.sock.sendall(_frame(request))
        except OSError:
            return  # slowed (the server reads no more of it), or dropped

    def dropped(self, seconds: float) -> bool:
        """Whether the server closed the connection: what it sent is read to its end."""
        self.sock.settimeout(seconds)
        try:
            while self.sock.recv(1 << 20):
                pass
        except TimeoutError:
            return False
        except OSError:
            return True
        return True


async def test_a_flood_that_is_never_read_is_bounded_and_dropped(tmp_path: Path) -> None:
    home = tmp_path / "home"
    thread_id = await _seed(home)
    limits = ("--max-queued-mb", "2", "--stall-timeout", "3")
    with app_server_process(home, *limits) as (url, process):
        async with WsClient.connect(url, None) as honest:
            await honest.initialize()
            assert (await honest.call("thread/read", {"threadId": thread_id}))["thread"]["id"] == thread_id
            baseline = _rss_kib(process.pid)
            flooder = _Flooder(url)
            sender = threading.Thread(target=flooder.flood, args=(thread_id,), daemon=True)
            sender.start()
            peak = baseline
            answered = 0
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                listed = await honest.call("thread/list", {"limit": 5})
                assert [t["id"] for t in listed["data"]] == [thread_id]
                answered += 1
                peak = max(peak, _rss_kib(process.pid))
                await asyncio.sleep(0.2)
            assert await asyncio.to_thread(flooder.dropped, 30)
            sender.join(timeout=30)
            peak = max(peak, _rss_kib(process.pid))
            # The honest client is still served, and so is a new one.
            assert (await honest.call("thread/read", {"threadId": thread_id}))["thread"]["id"] == thread_id
        async with WsClient.connect(url, None) as later:
            await later.initialize()
            await later.call("thread/loaded/list")
    assert answered > 10
    assert peak - baseline < GROWTH_LIMIT_KIB, f"resident memory grew by {(peak - baseline) // 1024} MiB"
