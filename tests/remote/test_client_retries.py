"""The client retries what is safe to retry while the server is unavailable: reads, and appends
(each carries its idempotency key, so an append whose answer was lost is stored once)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypedDict, Unpack

import grpc
import pytest
from google.protobuf.message import Message

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    InMemoryThreadStore,
    Internal,
    LoadThreadHistoryParams,
    ReadThreadParams,
    items,
    new_thread_id,
)
from threadstore._backends.remote import RemoteThreadStore
from threadstore._wire._proto import thread_store_pb2 as pb


class CallOptions(TypedDict):
    """The keywords the client calls a gRPC stub with."""

    timeout: float | None
    metadata: Sequence[tuple[str, str]]


async def test_reads_and_appends_retry_while_unavailable_and_other_writes_do_not() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = RemoteThreadStore(f"grpc://127.0.0.1:{port}", timeout=5)
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    client._sleep = record
    try:
        with pytest.raises(Internal, match="UNAVAILABLE"):
            await client.read_thread(ReadThreadParams(new_thread_id()))
        assert waits == [0.1, 0.2, 0.4]  # four attempts, with growing backoff between them
        waits.clear()
        with pytest.raises(Internal, match="UNAVAILABLE"):
            await client.append_items(AppendThreadItemsParams(new_thread_id(), [items.user_message("x")]))
        assert waits == [0.1, 0.2, 0.4]  # an append carries its key: it is retried like a read
        waits.clear()
        with pytest.raises(Internal, match="UNAVAILABLE"):
            await client.flush_thread(new_thread_id())
        assert waits == []  # any other write is tried once
    finally:
        await client.close()


@pytest.mark.parametrize("lost", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
async def test_an_append_whose_answer_was_lost_is_sent_again_and_stored_once(
    client: RemoteThreadStore,
    backing_store: InMemoryThreadStore,
    lost: grpc.StatusCode,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tid = new_thread_id()
    await client.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    client._sleep = record
    real_stub = client._stub
    keys: list[str] = []

    def losing_stub(name: str) -> Callable[..., Awaitable[Message]]:
        inner = real_stub(name)
        if name != "AppendItems":
            return inner

        async def call(request: pb.AppendThreadItemsRequest, **options: Unpack[CallOptions]) -> Message:
            response = await inner(request, **options)  # the server stores the items
            keys.append(request.idempotency_key)
            if len(keys) == 1:  # ... and the answer never reaches the client
                raise grpc.aio.AioRpcError(lost, grpc.aio.Metadata(), grpc.aio.Metadata(), details="answer lost")
            return response

        return call

    monkeypatch.setattr(client, "_stub", losing_stub)
    await client.append_items(AppendThreadItemsParams(tid, [items.user_message("only once")]))
    await client.append_items(AppendThreadItemsParams(tid, [items.user_message("then this")]))
    assert waits == [0.1]  # one retry, of the first append
    assert len(keys) == 3
    assert keys[0] == keys[1] != keys[2]  # the retry repeats its key; another append has its own
    stored = (await backing_store.load_history(LoadThreadHistoryParams(tid))).items
    assert [i["payload"]["message"] for i in stored if i["type"] == "event_msg"] == ["only once", "then this"]
