"""Conversions between the store's dataclasses and the ``codex.thread_store.v1`` messages.

Both directions live here so the client and the server agree by construction.

Wire conventions (seed protocol, ``codex-thread-store.md`` §5.1):

* Items travel as one JSON document per item (``items_json``, ``history_json``).
* Timestamps are Unix **seconds** (``int64``) in the seed fields, which loses sub-second
  precision; threadstore peers also fill the ``*_micros`` extension fields and prefer them.
* ``metadata_json`` of ``CreateThreadRequest`` is ``{cwd, model_provider, memory_mode}``; real
  Codex clients send it empty (see :func:`create_from_proto`). threadstore clients add
  ``parent_thread_id``, ``originator``, ``cli_version`` and ``git_info`` to it.
* A metadata patch carries its seed fields (``name``, ``memory_mode``, ``git_info``) and the
  whole patch as JSON in the ``patch_json`` extension, which wins when present.
* ``StoredThread.rollout_path`` is always set on the wire (Codex's app-server requires it): a
  backend without files is given the synthetic ``threadstore://<thread id>``, which
  :func:`thread_from_proto` turns back into ``None``.

Malformed JSON in a request raises :class:`~threadstore.errors.InvalidRequest` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from .. import _json
from ..errors import InvalidRequest
from ..items import Item
from ..policy import EventPersistenceMode
from ..store.patch import UNSET, GitInfoPatch, ThreadMetadataPatch
from ..store.types import (
    MAX_PAGE_SIZE,
    AppendThreadItemsParams,
    CreateThreadParams,
    GitInfo,
    ListThreadsParams,
    LoadThreadHistoryParams,
    MemoryMode,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    SortDirection,
    StoredThread,
    StoredThreadHistory,
    StoredThreadSearchResult,
    ThreadPage,
    ThreadSearchPage,
    ThreadSortKey,
    TokenUsage,
    UpdateThreadMetadataParams,
)
from ..timeutil import format_rfc3339, parse_timestamp
from ._proto import thread_store_pb2 as pb
from .sources import source_from_proto, source_to_proto

__all__ = [
    "SYNTHETIC_PATH_PREFIX",
    "append_from_proto",
    "append_to_proto",
    "create_from_proto",
    "create_to_proto",
    "datetime_from_wire",
    "history_from_proto",
    "history_to_proto",
    "list_from_proto",
    "list_to_proto",
    "load_history_from_proto",
    "load_history_to_proto",
    "page_from_proto",
    "page_to_proto",
    "patch_from_proto",
    "patch_to_proto",
    "read_by_path_to_proto",
    "read_from_proto",
    "read_to_proto",
    "resume_from_proto",
    "resume_to_proto",
    "search_from_proto",
    "search_page_from_proto",
    "search_page_to_proto",
    "search_to_proto",
    "synthetic_rollout_path",
    "thread_from_proto",
    "thread_to_proto",
    "update_from_proto",
    "update_to_proto",
]

SYNTHETIC_PATH_PREFIX: Final = "threadstore://"
DEFAULT_PAGE_SIZE: Final = 50

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MODE_TO_WIRE: Final[dict[str, pb.ThreadEventPersistenceMode]] = {
    "limited": pb.THREAD_EVENT_PERSISTENCE_MODE_LIMITED,
    "extended": pb.THREAD_EVENT_PERSISTENCE_MODE_EXTENDED,
}
_MEMORY_TO_WIRE: Final[dict[str, pb.ThreadMemoryMode]] = {
    "enabled": pb.THREAD_MEMORY_MODE_ENABLED,
    "disabled": pb.THREAD_MEMORY_MODE_DISABLED,
}


# -- scalars ------------------------------------------------------------------------------------


def synthetic_rollout_path(thread_id: str) -> str:
    """The stable stand-in ``rollout_path`` for a thread whose backend has no files."""
    return f"{SYNTHETIC_PATH_PREFIX}{thread_id}"


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def _seconds(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(seconds=1)


def datetime_from_wire(seconds: int, micros: int | None) -> datetime:
    """A UTC datetime from the seed field (seconds) or, when present, the micros extension."""
    if micros is not None:
        return _EPOCH + timedelta(microseconds=micros)
    return _EPOCH + timedelta(seconds=seconds)


def _mode_from_wire(value: int) -> EventPersistenceMode:
    if value == pb.THREAD_EVENT_PERSISTENCE_MODE_EXTENDED:
        return "extended"
    if value == pb.THREAD_EVENT_PERSISTENCE_MODE_LIMITED:
        return "limited"
    raise InvalidRequest(f"unknown event persistence mode: {value}")


def _memory_from_wire(value: int) -> MemoryMode:
    if value == pb.THREAD_MEMORY_MODE_DISABLED:
        return "disabled"
    if value == pb.THREAD_MEMORY_MODE_ENABLED:
        return "enabled"
    raise InvalidRequest(f"unknown memory mode: {value}")


def _sort_key_to_wire(key: ThreadSortKey) -> pb.ThreadSortKey:
    return pb.THREAD_SORT_KEY_UPDATED_AT if key == "updated_at" else pb.THREAD_SORT_KEY_CREATED_AT


def _sort_key_from_wire(value: int) -> ThreadSortKey:
    if value == pb.THREAD_SORT_KEY_UPDATED_AT:
        return "updated_at"
    if value == pb.THREAD_SORT_KEY_CREATED_AT:
        return "created_at"
    raise InvalidRequest(f"unknown sort key: {value}")


def _direction_to_wire(direction: SortDirection) -> pb.SortDirection:
    return pb.SORT_DIRECTION_ASC if direction == "asc" else pb.SORT_DIRECTION_DESC


def _direction_from_wire(value: int) -> SortDirection:
    if value == pb.SORT_DIRECTION_ASC:
        return "asc"
    if value == pb.SORT_DIRECTION_DESC:
        return "desc"
    raise InvalidRequest(f"unknown sort direction: {value}")


def _page_size_from_wire(value: int) -> int:
    """0 (unset) means the default; larger than the maximum is clamped."""
    if value == 0:
        return DEFAULT_PAGE_SIZE
    return min(value, MAX_PAGE_SIZE)


def _parse_json(text: str, field: str) -> Any:
    try:
        return _json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"invalid JSON in {field}: {exc}") from None


def _items_to_wire(items: Sequence[Item], field: str) -> list[str]:
    try:
        return [_json.dumps_str(item) for item in items]
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"failed to serialize {field} for remote thread store: {exc}") from None


def _items_from_wire(texts: Sequence[str], field: str) -> list[Item]:
    items: list[Item] = []
    for index, text in enumerate(texts):
        value = _parse_json(text, f"{field}[{index}]")
        if not isinstance(value, dict):
            raise InvalidRequest(f"{field}[{index}] is not a JSON object")
        items.append(value)
    return items


def _opt(message: Any, field: str) -> Any:
    return getattr(message, field) if message.HasField(field) else None


# -- StoredThread -------------------------------------------------------------------------------


def history_to_proto(history: StoredThreadHistory) -> pb.StoredThreadHistory:
    return pb.StoredThreadHistory(thread_id=history.thread_id, items_json=_items_to_wire(history.items, "items"))


def history_from_proto(message: pb.StoredThreadHistory) -> StoredThreadHistory:
    return StoredThreadHistory(thread_id=message.thread_id, items=_items_from_wire(message.items_json, "items_json"))


def thread_to_proto(thread: StoredThread) -> pb.StoredThread:
    """The wire form of ``thread``; ``rollout_path`` is always set (synthetic when None)."""
    message = pb.StoredThread(
        thread_id=thread.thread_id,
        preview=thread.preview,
        model_provider=thread.model_provider,
        created_at=_seconds(thread.created_at),
        updated_at=_seconds(thread.updated_at),
        cwd=thread.cwd,
        cli_version=thread.cli_version,
        source=source_to_proto(thread.source),
        rollout_path=thread.rollout_path or synthetic_rollout_path(thread.thread_id),
        memory_mode=_MEMORY_TO_WIRE[thread.memory_mode],
        created_at_micros=_micros(thread.created_at),
        updated_at_micros=_micros(thread.updated_at),
    )
    for field in (
        "forked_from_id",
        "name",
        "model",
        "agent_nickname",
        "agent_role",
        "agent_path",
        "reasoning_effort",
        "first_user_message",
        "parent_thread_id",
        "thread_source",
    ):
        value = getattr(thread, field)
        if value is not None:
            setattr(message, field, value)
    if thread.archived_at is not None:
        message.archived_at = _seconds(thread.archived_at)
        message.archived_at_micros = _micros(thread.archived_at)
    if thread.git_info is not None:
        git = thread.git_info
        message.git_info.CopyFrom(pb.GitInfo())
        if git.commit_hash is not None:
            message.git_info.sha = git.commit_hash
        if git.branch is not None:
            message.git_info.branch = git.branch
        if git.repository_url is not None:
            message.git_info.origin_url = git.repository_url
    if thread.approval_mode is not None:
        message.approval_mode_json = _json.dumps_str(thread.approval_mode)
    if thread.sandbox_policy is not None:
        message.sandbox_policy_json = _json.dumps_str(thread.sandbox_policy)
    if thread.token_usage is not None:
        message.token_usage_json = _json.dumps_str(thread.token_usage.to_json())
    if thread.history is not None:
        message.history.CopyFrom(history_to_proto(thread.history))
    return message


def _reply_json(message: Any, field: str) -> Any:
    if not message.HasField(field):
        return None
    try:
        return _json.loads(getattr(message, field))
    except ValueError as exc:
        raise InvalidRequest(f"remote thread store returned invalid {field}: {exc}") from None


def thread_from_proto(message: pb.StoredThread) -> StoredThread:
    """Our :class:`StoredThread` of a wire thread (the synthetic rollout path becomes None)."""
    rollout_path = _opt(message, "rollout_path")
    if rollout_path == synthetic_rollout_path(message.thread_id):
        rollout_path = None
    git_info = None
    if message.HasField("git_info"):
        git_info = GitInfo(
            commit_hash=_opt(message.git_info, "sha"),
            branch=_opt(message.git_info, "branch"),
            repository_url=_opt(message.git_info, "origin_url"),
        )
    approval = _reply_json(message, "approval_mode_json")
    usage_json = _reply_json(message, "token_usage_json")
    archived_at = None
    if message.HasField("archived_at") or message.HasField("archived_at_micros"):
        archived_at = datetime_from_wire(message.archived_at, _opt(message, "archived_at_micros"))
    return StoredThread(
        thread_id=message.thread_id,
        created_at=datetime_from_wire(message.created_at, _opt(message, "created_at_micros")),
        updated_at=datetime_from_wire(message.updated_at, _opt(message, "updated_at_micros")),
        rollout_path=rollout_path,
        forked_from_id=_opt(message, "forked_from_id"),
        parent_thread_id=_opt(message, "parent_thread_id"),
        preview=message.preview,
        name=_opt(message, "name"),
        model_provider=message.model_provider,
        model=_opt(message, "model"),
        reasoning_effort=_opt(message, "reasoning_effort"),
        archived_at=archived_at,
        cwd=message.cwd,
        cli_version=message.cli_version,
        source=source_from_proto(message.source),
        thread_source=_opt(message, "thread_source"),
        agent_nickname=_opt(message, "agent_nickname"),
        agent_role=_opt(message, "agent_role"),
        agent_path=_opt(message, "agent_path"),
        git_info=git_info,
        approval_mode=approval if isinstance(approval, str) else None,
        sandbox_policy=_reply_json(message, "sandbox_policy_json"),
        token_usage=TokenUsage.from_json(usage_json) if usage_json is not None else None,
        first_user_message=_opt(message, "first_user_message"),
        memory_mode=_memory_from_wire(message.memory_mode),
        history=history_from_proto(message.history) if message.HasField("history") else None,
    )


# -- create / resume / append -------------------------------------------------------------------


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
    message = pb.CreateThreadRequest(
        thread_id=params.thread_id,
        source=source_to_proto(params.source),
        base_instructions_json=(
            _json.dumps_str({"text": params.base_instructions}) if params.base_instructions is not None else ""
        ),
        dynamic_tools_json=[_json.dumps_str(dict(tool)) for tool in params.dynamic_tools],
        event_persistence_mode=_MODE_TO_WIRE[params.event_persistence_mode],
        metadata_json=_json.dumps_str(metadata),
    )
    if params.forked_from_id is not None:
        message.forked_from_id = params.forked_from_id
    return message


def _base_instructions(text: str) -> str | None:
    if not text:
        return None
    value = _parse_json(text, "base_instructions_json")
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
    value = _parse_json(text, field)
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
        tool = _parse_json(text, f"dynamic_tools_json[{index}]")
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
    params = CreateThreadParams(
        thread_id=message.thread_id,
        cwd=cwd or "",
        model_provider=_opt_str(metadata, "model_provider", "metadata_json") or "",
        source=source_from_proto(message.source) if message.HasField("source") else "unknown",
        forked_from_id=_opt(message, "forked_from_id") or None,
        base_instructions=_base_instructions(message.base_instructions_json),
        dynamic_tools=tools,
        event_persistence_mode=_mode_from_wire(message.event_persistence_mode),
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
        event_persistence_mode=_MODE_TO_WIRE[params.event_persistence_mode],
        metadata_defaults_json=_json.dumps_str(defaults) if defaults else "",
    )
    if params.rollout_path is not None:
        message.rollout_path = params.rollout_path
    if params.history is not None:
        message.has_history = True
        message.history_json.extend(_items_to_wire(params.history, "history"))
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
        history=_items_from_wire(message.history_json, "history_json") if message.has_history else None,
        include_archived=message.include_archived,
        cwd=_opt_str(defaults, "cwd", "metadata_defaults_json"),
        model_provider=_opt_str(defaults, "model_provider", "metadata_defaults_json"),
        event_persistence_mode=_mode_from_wire(message.event_persistence_mode),
    )


def append_to_proto(params: AppendThreadItemsParams) -> pb.AppendThreadItemsRequest:
    return pb.AppendThreadItemsRequest(thread_id=params.thread_id, items_json=_items_to_wire(params.items, "items"))


def append_from_proto(message: pb.AppendThreadItemsRequest) -> AppendThreadItemsParams:
    return AppendThreadItemsParams(
        thread_id=message.thread_id, items=_items_from_wire(message.items_json, "items_json")
    )


# -- reads --------------------------------------------------------------------------------------


def load_history_to_proto(params: LoadThreadHistoryParams) -> pb.LoadThreadHistoryRequest:
    return pb.LoadThreadHistoryRequest(thread_id=params.thread_id, include_archived=params.include_archived)


def load_history_from_proto(message: pb.LoadThreadHistoryRequest) -> LoadThreadHistoryParams:
    return LoadThreadHistoryParams(thread_id=message.thread_id, include_archived=message.include_archived)


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
        sort_key=_sort_key_to_wire(params.sort_key),
        sort_direction=_direction_to_wire(params.sort_direction),
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
    return message


def list_from_proto(message: pb.ListThreadsRequest) -> ListThreadsParams:
    return ListThreadsParams(
        page_size=_page_size_from_wire(message.page_size),
        cursor=_opt(message, "cursor"),
        sort_key=_sort_key_from_wire(message.sort_key),
        sort_direction=_direction_from_wire(message.sort_direction),
        allowed_sources=[source_from_proto(s, for_filter=True) for s in message.allowed_sources],
        model_providers=list(message.model_provider_filter.values)
        if message.HasField("model_provider_filter")
        else None,
        cwd_filters=list(message.cwd_filter.values) if message.HasField("cwd_filter") else None,
        archived=message.archived,
        search_term=_opt(message, "search_term"),
    )


def page_to_proto(page: ThreadPage) -> pb.ListThreadsResponse:
    message = pb.ListThreadsResponse(threads=[thread_to_proto(t) for t in page.items])
    if page.next_cursor is not None:
        message.next_cursor = page.next_cursor
    return message


def page_from_proto(message: pb.ListThreadsResponse) -> ThreadPage:
    return ThreadPage(items=[thread_from_proto(t) for t in message.threads], next_cursor=_opt(message, "next_cursor"))


def search_to_proto(params: SearchThreadsParams) -> pb.SearchThreadsRequest:
    message = pb.SearchThreadsRequest(
        search_term=params.search_term,
        page_size=params.page_size,
        archived=params.archived,
        sort_key=_sort_key_to_wire(params.sort_key),
        sort_direction=_direction_to_wire(params.sort_direction),
        allowed_sources=[source_to_proto(s) for s in params.allowed_sources],
    )
    if params.cursor is not None:
        message.cursor = params.cursor
    return message


def search_from_proto(message: pb.SearchThreadsRequest) -> SearchThreadsParams:
    return SearchThreadsParams(
        search_term=message.search_term,
        page_size=_page_size_from_wire(message.page_size),
        cursor=_opt(message, "cursor"),
        archived=message.archived,
        sort_key=_sort_key_from_wire(message.sort_key),
        sort_direction=_direction_from_wire(message.sort_direction),
        allowed_sources=[source_from_proto(s, for_filter=True) for s in message.allowed_sources],
    )


def search_page_to_proto(page: ThreadSearchPage) -> pb.SearchThreadsResponse:
    message = pb.SearchThreadsResponse(
        results=[pb.ThreadSearchResult(thread=thread_to_proto(r.thread), snippet=r.snippet) for r in page.items]
    )
    if page.next_cursor is not None:
        message.next_cursor = page.next_cursor
    return message


def search_page_from_proto(message: pb.SearchThreadsResponse) -> ThreadSearchPage:
    return ThreadSearchPage(
        items=[StoredThreadSearchResult(thread_from_proto(r.thread), r.snippet) for r in message.results],
        next_cursor=_opt(message, "next_cursor"),
    )


# -- metadata patches ---------------------------------------------------------------------------

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
        message.memory_mode = _MEMORY_TO_WIRE[patch.memory_mode]
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
        return ThreadMetadataPatch.from_json(_parse_json(message.patch_json, "patch_json"))
    fields: dict[str, Any] = {}
    if message.HasField("name"):
        fields["name"] = message.name
    if message.HasField("memory_mode"):
        fields["memory_mode"] = _memory_from_wire(message.memory_mode)
    if message.HasField("git_info"):
        git = message.git_info
        fields["git_info"] = GitInfoPatch(
            sha=_string_patch_from_proto(git.sha),
            branch=_string_patch_from_proto(git.branch),
            origin_url=_string_patch_from_proto(git.origin_url),
        )
    return ThreadMetadataPatch(**fields)


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
