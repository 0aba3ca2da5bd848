"""Metadata patches on the wire: the seed fields (``name``, ``memory_mode``, ``git_info``) and
the whole patch as JSON in the ``patch_json`` extension, which wins when present."""

from __future__ import annotations

from typing import Any

from threadstore import _json
from threadstore._contract.patch import UNSET, GitInfoPatch, ThreadMetadataPatch
from threadstore._wire._proto import thread_store_pb2 as pb
from threadstore._wire.scalars import (
    MEMORY_TO_WIRE,
    memory_from_wire,
    parse_json,
)
from threadstore.errors import InvalidRequest

_STRING_PATCH = pb.OptionalStringPatchKind


def _string_patch_to_proto(value: str | object | None) -> pb.OptionalStringPatch:
    if value is UNSET:
        return pb.OptionalStringPatch(kind=_STRING_PATCH.OPTIONAL_STRING_PATCH_KIND_UNSET)
    if value is None:
        return pb.OptionalStringPatch(kind=_STRING_PATCH.OPTIONAL_STRING_PATCH_KIND_CLEAR)
    assert isinstance(value, str)
    return pb.OptionalStringPatch(kind=_STRING_PATCH.OPTIONAL_STRING_PATCH_KIND_SET, value=value)


def _string_patch_from_proto(message: pb.OptionalStringPatch) -> Any:
    if message.kind == _STRING_PATCH.OPTIONAL_STRING_PATCH_KIND_UNSET:
        return UNSET
    if message.kind == _STRING_PATCH.OPTIONAL_STRING_PATCH_KIND_CLEAR:
        return None
    if message.kind == _STRING_PATCH.OPTIONAL_STRING_PATCH_KIND_SET:
        return message.value
    raise InvalidRequest(f"unknown optional string patch kind: {message.kind}")


def patch_to_proto(patch: ThreadMetadataPatch) -> pb.ThreadMetadataPatch:
    """The seed fields that can express ``patch``, plus the whole patch in ``patch_json``."""
    message = pb.ThreadMetadataPatch(patch_json=_json.dumps_str(patch.to_json()))
    if isinstance(patch.name, str):
        message.name = patch.name
    if patch.memory_mode is not UNSET:
        message.memory_mode = MEMORY_TO_WIRE[patch.memory_mode]
    if isinstance(patch.git_info, GitInfoPatch):
        git = patch.git_info
        message.git_info.CopyFrom(
            pb.GitInfoPatch(
                sha=_string_patch_to_proto(git.sha),
                branch=_string_patch_to_proto(git.branch),
                origin_url=_string_patch_to_proto(git.origin_url),
            )
        )
    return message


def patch_from_proto(message: pb.ThreadMetadataPatch) -> ThreadMetadataPatch:
    if message.HasField("patch_json"):
        return ThreadMetadataPatch.from_json(parse_json(message.patch_json, "patch_json"))
    fields: dict[str, Any] = {}
    if message.HasField("name"):
        fields["name"] = message.name
    if message.HasField("memory_mode"):
        fields["memory_mode"] = memory_from_wire(message.memory_mode)
    if message.HasField("git_info"):
        git = message.git_info
        fields["git_info"] = GitInfoPatch(
            sha=_string_patch_from_proto(git.sha),
            branch=_string_patch_from_proto(git.branch),
            origin_url=_string_patch_from_proto(git.origin_url),
        )
    return ThreadMetadataPatch(**fields)
