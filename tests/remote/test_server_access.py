"""What the server lets a caller do: a token when one is configured, TLS, requests within the size
limit, and never a path of the server's own filesystem."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    InMemoryThreadStore,
    Internal,
    InvalidRequest,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResourceExhausted,
    ResumeThreadParams,
    Unsupported,
    items,
    new_thread_id,
)
from threadstore._backends.remote import RemoteThreadStore
from threadstore._server import RunningServer, start_server
from threadstore._wire._proto import thread_store_pb2 as pb

from .raw_calls import code_of, raw_call


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
