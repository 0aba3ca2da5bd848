"""Well-formed protobuf messages with hostile field values, sent by a raw client to a running
server: every answer is OK or a status that names bad input or a refusal (never INTERNAL or
UNKNOWN), and a thread nobody touched is unchanged afterwards."""

from __future__ import annotations

import asyncio
import json

import grpc
from google.protobuf.message import Message
from hypothesis import given
from hypothesis import strategies as st

from threadstore import InMemoryThreadStore, ReadThreadParams
from threadstore._server import start_server
from threadstore._wire._proto import thread_store_pb2 as pb
from threadstore._wire.methods import METHODS, path_of
from threadstore.testing import new_thread

from .strategies import json_values, texts, timestamps

ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}

# Protobuf string fields carry valid Unicode only: the client library refuses lone surrogates.
wire_text = texts.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t))
ids = st.one_of(st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), wire_text)
json_text = st.one_of(json_values.map(lambda v: json.dumps(v)), wire_text).filter(
    lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)
)
enum_values = st.integers(min_value=-5, max_value=20)

requests = st.one_of(
    st.builds(
        lambda tid, meta, mode, tools: (
            "CreateThread",
            pb.CreateThreadRequest(
                thread_id=tid, metadata_json=meta, event_persistence_mode=mode, dynamic_tools_json=tools
            ),
        ),
        ids,
        json_text,
        enum_values,
        st.lists(json_text, max_size=2),
    ),
    st.builds(
        lambda tid, defaults, mode: (
            "ResumeThread",
            pb.ResumeThreadRequest(thread_id=tid, metadata_defaults_json=defaults, event_persistence_mode=mode),
        ),
        ids,
        json_text,
        enum_values,
    ),
    st.builds(
        lambda tid, batch: ("AppendItems", pb.AppendThreadItemsRequest(thread_id=tid, items_json=batch)),
        ids,
        st.lists(json_text, max_size=3),
    ),
    st.builds(
        lambda tid, patch: (
            "UpdateThreadMetadata",
            pb.UpdateThreadMetadataRequest(thread_id=tid, patch=pb.ThreadMetadataPatch(patch_json=patch)),
        ),
        ids,
        json_text,
    ),
    st.builds(
        lambda size, cursor, key, direction, term: (
            "ListThreads",
            pb.ListThreadsRequest(
                page_size=size, cursor=cursor, sort_key=key, sort_direction=direction, search_term=term
            ),
        ),
        st.integers(0, 5000),
        st.one_of(wire_text, timestamps.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t))),
        enum_values,
        enum_values,
        wire_text,
    ),
    st.builds(
        lambda term, cursor: ("SearchThreads", pb.SearchThreadsRequest(search_term=term, cursor=cursor)),
        wire_text,
        wire_text,
    ),
    st.builds(lambda tid: ("ReadThread", pb.ReadThreadRequest(thread_id=tid, include_history=True)), ids),
    st.builds(
        lambda name, tid: (name, pb.ThreadIdRequest(thread_id=tid)),
        st.sampled_from(["PersistThread", "FlushThread", "ShutdownThread", "DiscardThread"]),
        ids,
    ),
    st.builds(lambda tid: ("ArchiveThread", pb.ArchiveThreadRequest(thread_id=tid)), ids),
    st.builds(lambda tid: ("DeleteThread", pb.DeleteThreadRequest(thread_id=tid)), ids),
)


async def _call(channel: grpc.aio.Channel, name: str, request: Message) -> grpc.StatusCode:
    spec = METHODS[name]
    stub = channel.unary_unary(
        path_of(name), request_serializer=spec.request.SerializeToString, response_deserializer=spec.response.FromString
    )
    try:
        await stub(request, timeout=10)
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


@given(st.lists(requests, min_size=1, max_size=10))
def test_hostile_requests_get_clean_answers(calls: list[tuple[str, Message]]) -> None:
    async def scenario() -> None:
        store = InMemoryThreadStore()
        sentinel = await new_thread(store, "left alone")
        before = await store.read_thread(ReadThreadParams(sentinel, include_history=True))
        running = await start_server("127.0.0.1:0", store)
        try:
            async with grpc.aio.insecure_channel(running.address) as channel:
                for name, request in calls:
                    code = await _call(channel, name, request)
                    assert code in ALLOWED, (name, request, code)
                assert await _call(channel, "ListThreads", pb.ListThreadsRequest()) == grpc.StatusCode.OK
        finally:
            await running.stop(grace=1, close_store=False)
        assert await store.read_thread(ReadThreadParams(sentinel, include_history=True)) == before
        await store.close()

    asyncio.run(scenario())
