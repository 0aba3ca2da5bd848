"""Request messages: create, resume, append, reads, listing, search and metadata updates.

``metadata_json`` of ``CreateThreadRequest`` is ``{cwd, model_provider, memory_mode}``; real
Codex clients send it empty (see :func:`create_from_proto`). threadstore clients add
``parent_thread_id``, ``originator``, ``cli_version``, ``git_info`` and ``created_at`` to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from threadstore import _json
from threadstore._contract.listing import ListThreadsParams, SearchThreadsParams
from threadstore._contract.patch import UpdateThreadMetadataParams
from threadstore._contract.types import (
    AppendThreadItemsParams,
    CreateThreadParams,
    GitInfo,
    LoadThreadHistoryParams,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResumeThreadParams,
)
from threadstore._time import format_rfc3339, parse_timestamp
from threadstore._wire._proto import thread_store_pb2 as pb
from threadstore._wire.patches import patch_from_proto, patch_to_proto
from threadstore._wire.scalars import (
    MODE_TO_WIRE,
    direction_from_wire,
    direction_to_wire,
    items_from_wire,
    items_to_wire,
    mode_from_wire,
    optional_field,
    page_size_from_wire,
    parse_json,
    sort_key_from_wire,
    sort_key_to_wire,
    synthetic_rollout_path,
)
from threadstore._wire.sources import source_from_proto, source_to_proto
from threadstore.errors import InvalidRequest


def create_to_proto(params: CreateThreadParams) -> pb.CreateThreadRequest:
    metadata: dict[str, Any] = {
        "cwd": params.cwd,
        "model_provider": params.model_provider,
        "memory_mode": params.memory_mode,
        "originator": params.originator,
        "cli_version": params.cli_version,
    }
    if params.parent_thread_id is not None:
        metadata["parent_thread_id"] = params.parent_thread_id
    if params.git_info is not None:
        metadata["git_info"] = params.git_info.to_json()
    if params.created_at is not None:
        metadata["created_at"] = format_rfc3339(params.created_at)
    if params.labels:
        metadata["labels"] = dict(params.labels)
    message = pb.CreateThreadRequest(
        thread_id=params.thread_id,
        source=source_to_proto(params.source),
        base_instructions_json=(
            _json.dumps_str({"text": params.base_instructions}) if params.base_instructions is not None else ""
        ),
        dynamic_tools_json=[_json.dumps_str(dict(tool)) for tool in params.dynamic_tools],
        event_persistence_mode=MODE_TO_WIRE[params.event_persistence_mode],
        metadata_json=_json.dumps_str(metadata),
    )
    if params.forked_from_id is not None:
        message.forked_from_id = params.forked_from_id
    return message


def _base_instructions(text: str) -> str | None:
    if not text:
        return None
    value = parse_json(text, "base_instructions_json")
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("text"), str):
        return str(value["text"])
    raise InvalidRequest("base_instructions_json must be a string or an object with a text field")


def _object(text: str, field: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    value = parse_json(text, field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest(f"{field} must be a JSON object")
    return value


def _opt_str(metadata: Mapping[str, Any], key: str, field: str) -> str | None:
    value = metadata.get(key)
    if value is None or isinstance(value, str):
        return value
    raise InvalidRequest(f"{field}.{key} must be a string")


def create_from_proto(message: pb.CreateThreadRequest) -> tuple[CreateThreadParams, bool]:
    """The create parameters, and whether the request said where the thread lives.

    The second value is False for a request without a ``cwd`` in ``metadata_json`` (what real
    Codex clients send): the parameters then carry ``cwd=""`` and ``model_provider=""``, to be
    learned from the thread's first items.
    """
    metadata = _object(message.metadata_json, "metadata_json")
    cwd = _opt_str(metadata, "cwd", "metadata_json")
    tools: list[dict[str, Any]] = []
    for index, text in enumerate(message.dynamic_tools_json):
        tool = parse_json(text, f"dynamic_tools_json[{index}]")
        if not isinstance(tool, dict):
            raise InvalidRequest(f"dynamic_tools_json[{index}] must be a JSON object")
        tools.append(tool)
    git_json = metadata.get("git_info")
    optional: dict[str, Any] = {}
    for key in ("originator", "cli_version"):
        value = _opt_str(metadata, key, "metadata_json")
        if value is not None:
            optional[key] = value
    created = _opt_str(metadata, "created_at", "metadata_json")
    if created is not None:
        parsed = parse_timestamp(created)
        if parsed is None:
            raise InvalidRequest("metadata_json created_at must be an RFC 3339 timestamp")
        optional["created_at"] = parsed
    if "labels" in metadata:
        optional["labels"] = metadata["labels"]
    params = CreateThreadParams(
        thread_id=message.thread_id,
        cwd=cwd or "",
        model_provider=_opt_str(metadata, "model_provider", "metadata_json") or "",
        source=source_from_proto(message.source) if message.HasField("source") else "unknown",
        forked_from_id=optional_field(message, "forked_from_id") or None,
        base_instructions=_base_instructions(message.base_instructions_json),
        dynamic_tools=tools,
        event_persistence_mode=mode_from_wire(message.event_persistence_mode),
        memory_mode=metadata.get("memory_mode") or "enabled",
        parent_thread_id=_opt_str(metadata, "parent_thread_id", "metadata_json"),
        git_info=GitInfo.from_json(git_json) if git_json is not None else None,
        **optional,
    )
    return params, cwd is not None


def resume_to_proto(params: ResumeThreadParams) -> pb.ResumeThreadRequest:
    defaults: dict[str, Any] = {}
    if params.model_provider is not None:
        defaults["model_provider"] = params.model_provider
    if params.cwd is not None:
        defaults["cwd"] = params.cwd
    message = pb.ResumeThreadRequest(
        thread_id=params.thread_id,
        include_archived=params.include_archived,
        event_persistence_mode=MODE_TO_WIRE[params.event_persistence_mode],
        metadata_defaults_json=_json.dumps_str(defaults) if defaults else "",
    )
    if params.rollout_path is not None:
        message.rollout_path = params.rollout_path
    if params.history is not None:
        message.has_history = True
        message.history_json.extend(items_to_wire(params.history, "history"))
    return message


PATH_REFUSED: Final = "the server does not open client-supplied paths"


def resume_from_proto(message: pb.ResumeThreadRequest) -> ResumeThreadParams:
    """The resume parameters. A ``rollout_path`` is refused with :class:`InvalidRequest`
    (:data:`PATH_REFUSED`), except the synthetic path of the same thread, which names no file."""
    if message.HasField("rollout_path") and message.rollout_path != synthetic_rollout_path(message.thread_id):
        raise InvalidRequest(PATH_REFUSED)
    defaults = _object(message.metadata_defaults_json, "metadata_defaults_json")
    return ResumeThreadParams(
        thread_id=message.thread_id,
        history=items_from_wire(message.history_json, "history_json") if message.has_history else None,
        include_archived=message.include_archived,
        cwd=_opt_str(defaults, "cwd", "metadata_defaults_json"),
        model_provider=_opt_str(defaults, "model_provider", "metadata_defaults_json"),
        event_persistence_mode=mode_from_wire(message.event_persistence_mode),
    )


def append_to_proto(params: AppendThreadItemsParams) -> pb.AppendThreadItemsRequest:
    message = pb.AppendThreadItemsRequest(
        thread_id=params.thread_id, items_json=items_to_wire(params.items, "items"), exact=params.exact
    )
    if params.idempotency_key is not None:
        message.idempotency_key = params.idempotency_key
    return message


def append_from_proto(message: pb.AppendThreadItemsRequest) -> AppendThreadItemsParams:
    return AppendThreadItemsParams(
        thread_id=message.thread_id,
        items=items_from_wire(message.items_json, "items_json"),
        idempotency_key=optional_field(message, "idempotency_key"),
        exact=message.exact,
    )


# -- reads --------------------------------------------------------------------------------------


def load_history_to_proto(params: LoadThreadHistoryParams) -> pb.LoadThreadHistoryRequest:
    message = pb.LoadThreadHistoryRequest(thread_id=params.thread_id, include_archived=params.include_archived)
    if not params.resolve_forks:
        message.resolve_forks = False
    if params.tail is not None:
        message.tail = params.tail
    return message


def load_history_from_proto(message: pb.LoadThreadHistoryRequest) -> LoadThreadHistoryParams:
    resolve = message.resolve_forks if message.HasField("resolve_forks") else True
    return LoadThreadHistoryParams(
        thread_id=message.thread_id,
        include_archived=message.include_archived,
        resolve_forks=resolve,
        tail=message.tail if message.HasField("tail") else None,
    )


def read_to_proto(params: ReadThreadParams) -> pb.ReadThreadRequest:
    return pb.ReadThreadRequest(
        thread_id=params.thread_id,
        include_archived=params.include_archived,
        include_history=params.include_history,
    )


def read_from_proto(message: pb.ReadThreadRequest) -> ReadThreadParams:
    return ReadThreadParams(
        thread_id=message.thread_id,
        include_archived=message.include_archived,
        include_history=message.include_history,
    )


def read_by_path_to_proto(params: ReadThreadByRolloutPathParams) -> pb.ReadThreadByRolloutPathRequest:
    return pb.ReadThreadByRolloutPathRequest(
        rollout_path=params.rollout_path,
        include_archived=params.include_archived,
        include_history=params.include_history,
    )


def list_to_proto(params: ListThreadsParams) -> pb.ListThreadsRequest:
    message = pb.ListThreadsRequest(
        page_size=params.page_size,
        sort_key=sort_key_to_wire(params.sort_key),
        sort_direction=direction_to_wire(params.sort_direction),
        allowed_sources=[source_to_proto(s) for s in params.allowed_sources],
        archived=params.archived,
    )
    if params.cursor is not None:
        message.cursor = params.cursor
    if params.model_providers is not None:
        message.model_provider_filter.CopyFrom(pb.ModelProviderFilter(values=list(params.model_providers)))
    if params.cwd_filters is not None:
        message.cwd_filter.CopyFrom(pb.CwdFilter(values=list(params.cwd_filters)))
    if params.search_term is not None:
        message.search_term = params.search_term
    if params.labels:
        message.label_filter.update(params.labels)
    return message


def list_from_proto(message: pb.ListThreadsRequest) -> ListThreadsParams:
    return ListThreadsParams(
        page_size=page_size_from_wire(message.page_size),
        cursor=optional_field(message, "cursor"),
        sort_key=sort_key_from_wire(message.sort_key),
        sort_direction=direction_from_wire(message.sort_direction),
        allowed_sources=[source_from_proto(s, for_filter=True) for s in message.allowed_sources],
        model_providers=list(message.model_provider_filter.values)
        if message.HasField("model_provider_filter")
        else None,
        cwd_filters=list(message.cwd_filter.values) if message.HasField("cwd_filter") else None,
        archived=message.archived,
        search_term=optional_field(message, "search_term"),
        labels=dict(message.label_filter) or None,
    )


def search_to_proto(params: SearchThreadsParams) -> pb.SearchThreadsRequest:
    message = pb.SearchThreadsRequest(
        search_term=params.search_term,
        page_size=params.page_size,
        archived=params.archived,
        sort_key=sort_key_to_wire(params.sort_key),
        sort_direction=direction_to_wire(params.sort_direction),
        allowed_sources=[source_to_proto(s) for s in params.allowed_sources],
    )
    if params.cursor is not None:
        message.cursor = params.cursor
    if params.labels:
        message.label_filter.update(params.labels)
    return message


def search_from_proto(message: pb.SearchThreadsRequest) -> SearchThreadsParams:
    return SearchThreadsParams(
        search_term=message.search_term,
        page_size=page_size_from_wire(message.page_size),
        cursor=optional_field(message, "cursor"),
        archived=message.archived,
        sort_key=sort_key_from_wire(message.sort_key),
        sort_direction=direction_from_wire(message.sort_direction),
        allowed_sources=[source_from_proto(s, for_filter=True) for s in message.allowed_sources],
        labels=dict(message.label_filter) or None,
    )


def update_to_proto(params: UpdateThreadMetadataParams) -> pb.UpdateThreadMetadataRequest:
    return pb.UpdateThreadMetadataRequest(
        thread_id=params.thread_id,
        patch=patch_to_proto(params.patch),
        include_archived=params.include_archived,
    )


def update_from_proto(message: pb.UpdateThreadMetadataRequest) -> UpdateThreadMetadataParams:
    return UpdateThreadMetadataParams(
        thread_id=message.thread_id,
        patch=patch_from_proto(message.patch),
        include_archived=message.include_archived,
    )
