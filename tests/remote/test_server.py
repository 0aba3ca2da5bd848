"""The server: status codes, authentication, path refusal, size limits, request logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.message import Message

from threadstore import (
    AppendThreadItemsParams,
    Conflict,
    CreateThreadParams,
    InMemoryThreadStore,
    Internal,
    InvalidRequest,
    LoadThreadHistoryParams,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResourceExhausted,
    ResumeThreadParams,
    ThreadNotFound,
    ThreadStoreError,
    Unsupported,
    items,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.remote import RemoteThreadStore
from threadstore._server import RunningServer, start_server
from threadstore._wire._proto import thread_store_pb2 as pb
from threadstore._wire.methods import METHODS, path_of

from .conftest import ClientFactory


async def raw_call(
    server: RunningServer, name: str, request: Message, metadata: tuple[tuple[str, str], ...] = ()
) -> grpc.aio.AioRpcError | Message:
    """Call an RPC like a foreign client would; return the response or the error."""
    spec = METHODS[name]
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = channel.unary_unary(
            path_of(name),
            request_serializer=spec.request.SerializeToString,
            response_deserializer=spec.response.FromString,
        )
        try:
            return await stub(request, metadata=metadata, timeout=10)
        except grpc.aio.AioRpcError as exc:
            return exc


def code_of(result: object) -> grpc.StatusCode:
    return result.code() if isinstance(result, grpc.aio.AioRpcError) else grpc.StatusCode.OK


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


async def test_the_server_never_opens_client_paths(server: RunningServer, client: RemoteThreadStore) -> None:
    tid = new_thread_id()
    for name, request in [
        ("ResumeThread", pb.ResumeThreadRequest(thread_id=tid, rollout_path="/etc/passwd")),
        ("ReadThreadByRolloutPath", pb.ReadThreadByRolloutPathRequest(rollout_path="/etc/passwd")),
    ]:
        result = await raw_call(server, name, request)
        assert code_of(result) == grpc.StatusCode.INVALID_ARGUMENT
        assert isinstance(result, grpc.aio.AioRpcError)
        assert "does not open client-supplied paths" in (result.details() or "")
    with pytest.raises(InvalidRequest, match="client-supplied paths"):
        await client.resume_thread(ResumeThreadParams(thread_id=tid, rollout_path="/etc/passwd"))
    with pytest.raises(Unsupported):
        await client.read_thread_by_rollout_path(ReadThreadByRolloutPathParams(rollout_path="/etc/passwd"))


async def test_token_is_required_when_configured() -> None:
    store = InMemoryThreadStore()
    running = await start_server("127.0.0.1:0", store, token="s3cret")
    try:
        tid = new_thread_id()
        request = pb.ReadThreadRequest(thread_id=tid)
        assert code_of(await raw_call(running, "ReadThread", request)) == grpc.StatusCode.UNAUTHENTICATED
        wrong = (("authorization", "Bearer guess"),)
        assert code_of(await raw_call(running, "ReadThread", request, wrong)) == grpc.StatusCode.UNAUTHENTICATED
        right = (("authorization", "Bearer s3cret"),)
        assert code_of(await raw_call(running, "ReadThread", request, right)) == grpc.StatusCode.NOT_FOUND
        anonymous = RemoteThreadStore(running.url)
        with pytest.raises(Internal, match="UNAUTHENTICATED"):
            await anonymous.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
        await anonymous.close()
        assert store._writers == {}  # the refused create never reached the store
        client = RemoteThreadStore(running.url, token="s3cret")
        await client.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
        await client.append_items(AppendThreadItemsParams(tid, [items.user_message("hi")]))
        assert (await client.read_thread(ReadThreadParams(tid))).preview == "hi"
        await client.close()
    finally:
        await running.stop(grace=1)


async def test_requests_over_the_size_limit_are_refused() -> None:
    running = await start_server("127.0.0.1:0", InMemoryThreadStore(), max_message_bytes=64 * 1024)
    client = RemoteThreadStore(running.url)
    try:
        tid = new_thread_id()
        await client.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
        with pytest.raises(ResourceExhausted):
            await client.append_items(AppendThreadItemsParams(tid, [items.user_message("x" * 100_000)]))
        await client.append_items(AppendThreadItemsParams(tid, [items.user_message("small")]))
        history = await client.read_thread(ReadThreadParams(tid, include_history=True))
        assert history.history is not None
        assert [i["payload"].get("message") for i in history.history.items[1:]] == ["small"]
    finally:
        await client.close()
        await running.stop(grace=1)


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
    client: RemoteThreadStore, backing_store: InMemoryThreadStore, lost: grpc.StatusCode
) -> None:
    tid = new_thread_id()
    await client.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    client._sleep = record
    real_stub = client._stub
    keys: list[str] = []

    def losing_stub(name: str) -> object:
        inner = real_stub(name)
        if name != "AppendItems":
            return inner

        async def call(request: pb.AppendThreadItemsRequest, **options: object) -> Message:
            response = await inner(request, **options)  # type: ignore[arg-type]  # the server stores the items
            keys.append(request.idempotency_key)
            if len(keys) == 1:  # ... and the answer never reaches the client
                raise grpc.aio.AioRpcError(lost, grpc.aio.Metadata(), grpc.aio.Metadata(), details="answer lost")
            return response

        return call

    client._stub = losing_stub  # type: ignore[assignment, method-assign]
    await client.append_items(AppendThreadItemsParams(tid, [items.user_message("only once")]))
    await client.append_items(AppendThreadItemsParams(tid, [items.user_message("then this")]))
    assert waits == [0.1]  # one retry, of the first append
    assert len(keys) == 3
    assert keys[0] == keys[1] != keys[2]  # the retry repeats its key; another append has its own
    stored = (await backing_store.load_history(LoadThreadHistoryParams(tid))).items
    assert [i["payload"]["message"] for i in stored if i["type"] == "event_msg"] == ["only once", "then this"]


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


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    import shutil
    import subprocess

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not available to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_and_token_together(tls_files: tuple[Path, Path]) -> None:
    from threadstore._server import TlsFiles

    cert, key = tls_files
    running = await start_server("127.0.0.1:0", InMemoryThreadStore(), token="tok", tls=TlsFiles(cert=cert, key=key))
    try:
        assert running.url.startswith("grpcs://")
        client = RemoteThreadStore(running.url.replace("127.0.0.1", "localhost"), token="tok", ca_file=cert)
        tid = new_thread_id()
        await client.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
        await client.append_items(AppendThreadItemsParams(tid, [items.user_message("secure")]))
        assert (await client.read_thread(ReadThreadParams(tid))).preview == "secure"
        await client.close()
        plain = RemoteThreadStore(f"grpc://{running.address}", token="tok", timeout=3)
        with pytest.raises(Internal):
            await plain.read_thread(ReadThreadParams(tid))
        await plain.close()
    finally:
        await running.stop(grace=1)
