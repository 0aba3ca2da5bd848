"""The server trusts nothing a client sends: identities, bytes, paths, sizes (issue classes 4, 5
and 8 of the hardening work)."""

from __future__ import annotations

import os
from pathlib import Path

import grpc
import pytest

from threadstore import (
    AppendThreadItemsParams,
    Conflict,
    CreateThreadParams,
    InMemoryThreadStore,
    ListThreadsParams,
    ReadThreadParams,
    _json,
    items,
    new_thread_id,
)
from threadstore._backends.remote import RemoteThreadStore
from threadstore._server import RunningServer, start_server
from threadstore._wire._proto import thread_store_pb2 as pb
from threadstore._wire.methods import path_of

from .raw_calls import code_of, raw_call
from .test_codex_shaped import append as raw_append
from .test_codex_shaped import codex_create


async def test_a_caller_without_identity_cannot_use_a_thread_another_client_holds(server: RunningServer) -> None:
    owner = RemoteThreadStore(server.url)
    try:
        tid = new_thread_id()
        await owner.create_thread(CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p"))
        await owner.append_items(AppendThreadItemsParams(tid, [items.user_message("mine")]))
        intruder = pb.AppendThreadItemsRequest(thread_id=tid, items_json=[_json.dumps_str(items.agent_message("x"))])
        assert code_of(await raw_call(server, "AppendItems", intruder)) == grpc.StatusCode.ABORTED
        for name in ("FlushThread", "ShutdownThread", "DiscardThread", "PersistThread"):
            result = await raw_call(server, name, pb.ThreadIdRequest(thread_id=tid))
            assert code_of(result) in (grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION), name
        # The owner never noticed.
        await owner.append_items(AppendThreadItemsParams(tid, [items.agent_message("still mine")]))
        await owner.shutdown_thread(tid)
        history = (await owner.read_thread(ReadThreadParams(tid, include_history=True))).history
        assert history is not None
        assert [i["payload"]["message"] for i in history.items[1:]] == ["mine", "still mine"]
    finally:
        await owner.close()


async def test_a_threadstore_client_cannot_use_a_thread_a_codex_client_holds(server: RunningServer) -> None:
    tid = new_thread_id()
    await codex_create(server, tid)
    await raw_append(server, tid, items.turn_context(cwd="/repo", model="m"), items.user_message("from codex"))
    other = RemoteThreadStore(server.url)
    try:
        with pytest.raises(Conflict):
            await other.append_items(AppendThreadItemsParams(tid, [items.agent_message("intruder")]))
        # Codex itself (no identity) goes on.
        await raw_append(server, tid, items.agent_message("codex answer"))
        assert (
            code_of(await raw_call(server, "ShutdownThread", pb.ThreadIdRequest(thread_id=tid))) == grpc.StatusCode.OK
        )
    finally:
        await other.close()


async def _bytes_call(
    address: str, name: str, payload: bytes, metadata: tuple[tuple[str, str], ...] = ()
) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = channel.unary_unary(path_of(name), request_serializer=lambda b: b, response_deserializer=lambda b: b)
        try:
            await stub(payload, metadata=metadata, timeout=10)
        except grpc.aio.AioRpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


async def test_the_token_is_checked_before_a_request_is_parsed() -> None:
    running = await start_server("127.0.0.1:0", InMemoryThreadStore(), token="s3cret")
    try:
        garbage = b"\xff\xff\xff\xff not a protobuf message"
        assert await _bytes_call(running.address, "ReadThread", garbage) == grpc.StatusCode.UNAUTHENTICATED
        authorized = (("authorization", "Bearer s3cret"),)
        assert await _bytes_call(running.address, "ReadThread", garbage, authorized) == grpc.StatusCode.INVALID_ARGUMENT
        invalid_utf8 = b"\x0a\x03\xff\xfe\xfd"  # field 1 (thread_id) holding bytes that are not UTF-8
        assert (
            await _bytes_call(running.address, "ReadThread", invalid_utf8, authorized)
            == grpc.StatusCode.INVALID_ARGUMENT
        )
    finally:
        await running.stop(grace=1)


async def test_a_huge_bad_value_is_not_echoed_back_whole(server: RunningServer) -> None:
    request = pb.ListThreadsRequest(cursor="c" * 64_000)
    result = await raw_call(server, "ListThreads", request)
    assert isinstance(result, grpc.aio.AioRpcError)
    assert result.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(result.details() or "") < 2000
    # The connection and the server are fine afterwards.
    assert code_of(await raw_call(server, "ListThreads", pb.ListThreadsRequest())) == grpc.StatusCode.OK


async def test_the_server_reads_nothing_from_a_path_a_client_names(tmp_path: Path) -> None:
    from threadstore._backends.local import LocalThreadStore

    repo = tmp_path / "server-side-repo"
    (repo / ".git" / "refs" / "heads").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/secret-branch\n")
    (repo / ".git" / "refs" / "heads" / "secret-branch").write_text("1" * 40 + "\n")
    (repo / ".git" / "config").write_text('[remote "origin"]\n\turl = https://user:password@example.com/x.git\n')
    fifo_dir = tmp_path / "fifo-cwd"
    fifo_dir.mkdir()
    os.mkfifo(fifo_dir / ".git")  # reading it would block the server's event loop
    running = await start_server("127.0.0.1:0", LocalThreadStore(tmp_path / "home"))
    client = RemoteThreadStore(running.url, timeout=10)
    try:
        for cwd in (repo, fifo_dir):
            tid = new_thread_id()
            await client.create_thread(CreateThreadParams(thread_id=tid, cwd=str(cwd), model_provider="p"))
            await client.append_items(AppendThreadItemsParams(tid, [items.user_message("hi")]))
            await client.shutdown_thread(tid)
            thread = await client.read_thread(ReadThreadParams(tid))
            assert thread.git_info is None
            assert thread.cwd == str(cwd)
        assert len((await client.list_threads(ListThreadsParams())).items) == 2
    finally:
        await client.close()
        await running.stop(grace=1)


async def test_a_held_create_buffers_a_bounded_amount(
    server: RunningServer, backing_store: InMemoryThreadStore
) -> None:
    from threadstore._server.deferred import MAX_BUFFERED_BYTES

    tid = new_thread_id()
    await codex_create(server, tid)
    big = items.agent_message("x" * (1024 * 1024))
    sent = 0
    while sent <= MAX_BUFFERED_BYTES + 2 * 1024 * 1024:
        await raw_append(server, tid, big)
        sent += 1024 * 1024
    # The cwd never came, yet the server stopped holding: the thread exists, with every item.
    stored = await backing_store.read_thread(ReadThreadParams(tid, include_history=True))
    assert stored.history is not None
    assert len(stored.history.items) == 1 + sent // (1024 * 1024)
    assert not server.service.live.is_pending(tid)
