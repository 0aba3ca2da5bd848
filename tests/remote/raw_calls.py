"""Calls made as a foreign client makes them (no threadstore client in between), and their status."""

from __future__ import annotations

import grpc
from google.protobuf.message import Message

from threadstore._server import RunningServer
from threadstore._wire.methods import METHODS, path_of

__all__ = ["code_of", "raw_call"]


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
