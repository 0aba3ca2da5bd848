"""The RPCs of ``codex.thread_store.v1.ThreadStore``: name, request and response types.

Client and server build their stubs and handlers from this one table (instead of the untyped
generated ``*_pb2_grpc`` module); a test checks it against the service descriptor compiled from
the ``.proto``.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from google.protobuf.message import Message

from threadstore._wire._proto import thread_store_pb2 as pb

__all__ = ["METHODS", "SERVICE", "WRITER_METADATA_KEY", "Method", "path_of"]

SERVICE: Final = "codex.thread_store.v1.ThreadStore"

#: Request metadata naming the client instance that sends a call (an extension: Codex clients
#: send none). The server binds a live writer to the client that opened it.
WRITER_METADATA_KEY: Final = "x-threadstore-writer"


class Method(NamedTuple):
    request: type[Message]
    response: type[Message]
    #: Safe to retry (reads only).
    idempotent: bool = False


METHODS: Final[dict[str, Method]] = {
    "CreateThread": Method(pb.CreateThreadRequest, pb.Empty),
    "ResumeThread": Method(pb.ResumeThreadRequest, pb.Empty),
    "AppendItems": Method(pb.AppendThreadItemsRequest, pb.Empty),
    "PersistThread": Method(pb.ThreadIdRequest, pb.Empty),
    "FlushThread": Method(pb.ThreadIdRequest, pb.Empty),
    "ShutdownThread": Method(pb.ThreadIdRequest, pb.Empty),
    "DiscardThread": Method(pb.ThreadIdRequest, pb.Empty),
    "LoadHistory": Method(pb.LoadThreadHistoryRequest, pb.StoredThreadHistory, idempotent=True),
    "ReadThread": Method(pb.ReadThreadRequest, pb.StoredThreadResponse, idempotent=True),
    "ListThreads": Method(pb.ListThreadsRequest, pb.ListThreadsResponse, idempotent=True),
    "UpdateThreadMetadata": Method(pb.UpdateThreadMetadataRequest, pb.StoredThreadResponse),
    "ArchiveThread": Method(pb.ArchiveThreadRequest, pb.Empty),
    "UnarchiveThread": Method(pb.ArchiveThreadRequest, pb.StoredThreadResponse),
    "DeleteThread": Method(pb.DeleteThreadRequest, pb.Empty),
    "SearchThreads": Method(pb.SearchThreadsRequest, pb.SearchThreadsResponse, idempotent=True),
    "ReadThreadByRolloutPath": Method(pb.ReadThreadByRolloutPathRequest, pb.StoredThreadResponse, idempotent=True),
    "ListTurns": Method(pb.ListTurnsRequest, pb.ListTurnsResponse, idempotent=True),
    "ListItems": Method(pb.ListItemsRequest, pb.ListItemsResponse, idempotent=True),
}


def path_of(name: str) -> str:
    """The HTTP/2 path of an RPC, e.g. ``/codex.thread_store.v1.ThreadStore/ReadThread``."""
    return f"/{SERVICE}/{name}"
