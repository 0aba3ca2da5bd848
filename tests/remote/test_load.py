"""Many concurrent clients against one server process: nothing lost, every thread in order."""

from __future__ import annotations

import asyncio
import random
import time

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    ReadThreadParams,
    items,
    new_thread_id,
)
from threadstore._backends.remote import RemoteThreadStore

from .server_process import serve_process

CLIENTS = 32
APPENDS = 40


def sequence_of(thread_items: list[dict[str, object]]) -> list[int]:
    out = []
    for item in thread_items:
        payload = item.get("payload")
        if isinstance(payload, dict) and payload.get("type") == "user_message":
            out.append(int(str(payload["message"]).split(":")[1]))
    return out


async def test_concurrent_clients_lose_nothing_and_keep_order() -> None:
    with serve_process() as address:
        thread_ids = [new_thread_id() for _ in range(CLIENTS)]
        reads = 0

        async def worker(index: int) -> None:
            nonlocal reads
            rng = random.Random(index)
            client = RemoteThreadStore(f"grpc://{address}")
            try:
                tid = thread_ids[index]
                await client.create_thread(CreateThreadParams(thread_id=tid, cwd=f"/w/{index}", model_provider="p"))
                for n in range(APPENDS):
                    await client.append_items(AppendThreadItemsParams(tid, [items.user_message(f"{index}:{n}")]))
                    if n % 4 == 3:
                        other = thread_ids[rng.randrange(CLIENTS)]
                        try:
                            seen = await client.read_thread(ReadThreadParams(other, include_history=True))
                        except Exception:  # the other client may not have created its thread yet
                            continue
                        assert seen.history is not None
                        got = sequence_of(seen.history.items)
                        assert got == list(range(len(got))), f"thread {other} out of order: {got}"
                        reads += 1
                await client.flush_thread(tid)
            finally:
                await client.close()

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(CLIENTS)))
        elapsed = time.perf_counter() - started

        checker = RemoteThreadStore(f"grpc://{address}")
        try:
            for tid in thread_ids:
                stored = await checker.read_thread(ReadThreadParams(tid, include_history=True))
                assert stored.history is not None
                assert sequence_of(stored.history.items) == list(range(APPENDS))
        finally:
            await checker.close()
        appends = CLIENTS * APPENDS
        print(
            f"\nremote load: {CLIENTS} clients, {appends} appends + {reads} history reads in {elapsed:.2f}s "
            f"= {appends / elapsed:.0f} appends/s, {(appends + reads) / elapsed:.0f} requests/s"
        )
