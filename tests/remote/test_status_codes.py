"""What a call answers: store errors as gRPC status codes and back (message and thread id
included), and one log line per request with its status."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc
import pytest

from threadstore import (
    Conflict,
    CreateThreadParams,
    InMemoryThreadStore,
    Internal,
    InvalidRequest,
    ReadThreadParams,
    ResourceExhausted,
    ThreadNotFound,
    ThreadStoreError,
    Unsupported,
    new_thread_id,
)
from threadstore._backends.remote import RemoteThreadStore
from threadstore._server import RunningServer, start_server
from threadstore._wire._proto import thread_store_pb2 as pb

from .raw_calls import code_of, raw_call


class FaultyStore(InMemoryThreadStore):
    """``archive_thread`` raises whatever :attr:`error` is."""

    error: BaseException = RuntimeError("boom")

    async def _archive_thread(self, thread_id: str) -> None:
        raise self.error


@pytest.fixture
async def faulty() -> AsyncIterator[tuple[RunningServer, FaultyStore]]:
    store = FaultyStore()
    running = await start_server("127.0.0.1:0", store)
    yield running, store
    await running.stop(grace=1)


@pytest.mark.parametrize(
    ("error", "code", "client_error"),
    [
        (ThreadNotFound("01a211bf-84ac-7211-aa07-ea80033ee564"), grpc.StatusCode.NOT_FOUND, ThreadNotFound),
        (InvalidRequest("bad"), grpc.StatusCode.INVALID_ARGUMENT, InvalidRequest),
        (Conflict("taken"), grpc.StatusCode.FAILED_PRECONDITION, Conflict),
        (Unsupported("archive"), grpc.StatusCode.UNIMPLEMENTED, Unsupported),
        (ResourceExhausted("disk full"), grpc.StatusCode.RESOURCE_EXHAUSTED, ResourceExhausted),
        (Internal("io"), grpc.StatusCode.INTERNAL, Internal),
        (RuntimeError("a bug"), grpc.StatusCode.INTERNAL, Internal),
    ],
)
async def test_errors_map_to_status_codes_and_back(
    faulty: tuple[RunningServer, FaultyStore],
    error: BaseException,
    code: grpc.StatusCode,
    client_error: type[ThreadStoreError],
) -> None:
    running, store = faulty
    store.error = error
    tid = new_thread_id()
    result = await raw_call(running, "ArchiveThread", pb.ArchiveThreadRequest(thread_id=tid))
    assert code_of(result) == code
    client = RemoteThreadStore(running.url)
    try:
        with pytest.raises(client_error) as caught:
            await client.archive_thread(tid)
        if isinstance(error, ThreadStoreError):
            assert str(caught.value) == str(error)  # rebuilt exactly, message included
    finally:
        await client.close()


async def test_duplicate_writer_is_already_exists(server: RunningServer, client: RemoteThreadStore) -> None:
    tid = new_thread_id()
    await client.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
    request = pb.CreateThreadRequest(thread_id=tid, metadata_json='{"cwd": "/w"}')
    assert code_of(await raw_call(server, "CreateThread", request)) == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(Conflict):
        await client.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))


async def test_not_found_carries_the_requested_id(client: RemoteThreadStore) -> None:
    tid = new_thread_id()
    with pytest.raises(ThreadNotFound) as caught:
        await client.read_thread(ReadThreadParams(thread_id=tid))
    assert caught.value.thread_id == tid


async def test_malformed_ids_are_invalid_arguments(server: RunningServer) -> None:
    for name, request in [
        ("ReadThread", pb.ReadThreadRequest(thread_id="../../etc/passwd")),
        ("FlushThread", pb.ThreadIdRequest(thread_id="nope")),
        ("DeleteThread", pb.DeleteThreadRequest(thread_id="")),
    ]:
        assert code_of(await raw_call(server, name, request)) == grpc.StatusCode.INVALID_ARGUMENT, name


async def test_one_log_line_per_request(client: RemoteThreadStore, caplog: pytest.LogCaptureFixture) -> None:
    tid = new_thread_id()
    with caplog.at_level(logging.INFO, logger="threadstore.server"):
        await client.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
        with pytest.raises(ThreadNotFound):
            await client.flush_thread(new_thread_id())
    records = [r for r in caplog.records if hasattr(r, "rpc")]
    assert [r.rpc["method"] for r in records] == ["CreateThread", "FlushThread"]
    assert records[0].rpc["thread_id"] == tid
    assert records[0].rpc["status"] == "OK"
    assert records[1].rpc["status"] == "NOT_FOUND"
    assert "duration_ms" in records[1].rpc
