"""Conversions between the store's types and the wire messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from threadstore import (
    UNSET,
    CreateThreadParams,
    GitInfo,
    GitInfoPatch,
    InvalidRequest,
    ListThreadsParams,
    ResumeThreadParams,
    StoredThread,
    StoredThreadHistory,
    ThreadMetadataPatch,
    TokenUsage,
    new_thread_id,
)
from threadstore._contract.types import SessionSource
from threadstore._wire import convert
from threadstore._wire._proto import thread_store_pb2 as pb
from threadstore._wire.sources import source_from_proto, source_to_proto

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def full_thread() -> StoredThread:
    tid = new_thread_id()
    return StoredThread(
        thread_id=tid,
        created_at=T0,
        updated_at=T0.replace(second=9),
        rollout_path="/srv/home/sessions/x.jsonl",
        forked_from_id=new_thread_id(),
        parent_thread_id=new_thread_id(),
        preview="hello",
        name="named",
        model_provider="openai",
        model="gpt-5",
        reasoning_effort="high",
        archived_at=T0.replace(minute=30),
        cwd="/srv/work",
        cli_version="0.125.0",
        source={"subagent": {"thread_spawn": {"parent_thread_id": tid, "depth": 2, "agent_role": "r"}}},
        thread_source="user",
        agent_nickname="nick",
        agent_role="role",
        agent_path="/root/a",
        git_info=GitInfo(commit_hash="abc", branch="main", repository_url="https://x"),
        approval_mode="on-request",
        sandbox_policy={"type": "read-only"},
        token_usage=TokenUsage(input_tokens=3, output_tokens=4, total_tokens=7),
        first_user_message="hello",
        memory_mode="disabled",
        history=StoredThreadHistory(tid, [{"type": "event_msg", "payload": {"type": "user_message", "message": "é"}}]),
    )


def test_stored_thread_round_trips_exactly() -> None:
    thread = full_thread()
    message = convert.thread_to_proto(thread)
    assert convert.thread_from_proto(pb.StoredThread.FromString(message.SerializeToString())) == thread


def test_seed_timestamps_are_unix_seconds_and_micros_win() -> None:
    message = convert.thread_to_proto(full_thread())
    assert message.created_at == int(T0.timestamp())
    assert message.created_at_micros % 1_000_000 == 678901
    message.ClearField("created_at_micros")
    # A seed-era peer sends seconds only: sub-second precision is lost, nothing else.
    assert convert.thread_from_proto(message).created_at == T0.replace(microsecond=0)


def test_missing_rollout_path_travels_as_a_stable_synthetic_string() -> None:
    thread = StoredThread(thread_id=new_thread_id(), created_at=T0, updated_at=T0)
    message = convert.thread_to_proto(thread)
    assert message.rollout_path == f"threadstore://{thread.thread_id}"
    assert convert.thread_from_proto(message).rollout_path is None


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("cli", pb.SESSION_SOURCE_KIND_CLI),
        ("vscode", pb.SESSION_SOURCE_KIND_VSCODE),
        ("exec", pb.SESSION_SOURCE_KIND_EXEC),
        ("mcp", pb.SESSION_SOURCE_KIND_APP_SERVER),
        ("unknown", pb.SESSION_SOURCE_KIND_UNKNOWN),
        ({"custom": "atlas"}, pb.SESSION_SOURCE_KIND_CUSTOM),
        ({"subagent": "review"}, pb.SESSION_SOURCE_KIND_SUB_AGENT_REVIEW),
        ({"subagent": "compact"}, pb.SESSION_SOURCE_KIND_SUB_AGENT_COMPACT),
        ({"subagent": "memory_consolidation"}, pb.SESSION_SOURCE_KIND_SUB_AGENT_MEMORY_CONSOLIDATION),
        ({"subagent": {"other": "x"}}, pb.SESSION_SOURCE_KIND_SUB_AGENT_OTHER),
        (
            {"subagent": {"thread_spawn": {"parent_thread_id": "p", "depth": 1, "agent_nickname": "n"}}},
            pb.SESSION_SOURCE_KIND_SUB_AGENT_THREAD_SPAWN,
        ),
    ],
)
def test_session_sources_map_to_the_seed_kinds(source: SessionSource, kind: int) -> None:
    message = source_to_proto(source)
    assert message.kind == kind
    assert source_from_proto(message) == source
    # What a Codex peer sends (no source_json extension) reads back the same too.
    message.ClearField("source_json")
    assert source_from_proto(message) == source


def test_unknown_source_shapes_survive_only_with_the_extension() -> None:
    message = source_to_proto({"internal": "memory_consolidation"})
    assert message.kind == pb.SESSION_SOURCE_KIND_UNKNOWN
    assert source_from_proto(message) == {"internal": "memory_consolidation"}
    message.ClearField("source_json")
    assert source_from_proto(message) == "unknown"


def test_codex_source_filters_without_details_match_whole_kinds() -> None:
    spawn = pb.SessionSource(kind=pb.SESSION_SOURCE_KIND_SUB_AGENT_THREAD_SPAWN)
    assert source_from_proto(spawn, for_filter=True) == "subagent"


def test_patch_keeps_presence_semantics() -> None:
    patch = ThreadMetadataPatch(name=None, git_info=GitInfoPatch(sha="abc", branch=None), preview="p")
    message = convert.patch_to_proto(patch)
    assert not message.HasField("name")  # a clear is not expressible in the seed field
    assert message.git_info.sha.kind == pb.OPTIONAL_STRING_PATCH_KIND_SET
    assert message.git_info.branch.kind == pb.OPTIONAL_STRING_PATCH_KIND_CLEAR
    assert message.git_info.origin_url.kind == pb.OPTIONAL_STRING_PATCH_KIND_UNSET
    assert convert.patch_from_proto(message) == patch


def test_seed_patch_without_the_extension() -> None:
    message = pb.ThreadMetadataPatch(
        name="n",
        memory_mode=pb.THREAD_MEMORY_MODE_DISABLED,
        git_info=pb.GitInfoPatch(sha=pb.OptionalStringPatch(kind=pb.OPTIONAL_STRING_PATCH_KIND_CLEAR)),
    )
    patch = convert.patch_from_proto(message)
    assert patch.name == "n"
    assert patch.memory_mode == "disabled"
    assert isinstance(patch.git_info, GitInfoPatch)
    assert patch.git_info.sha is None
    assert patch.git_info.branch is UNSET


def test_create_round_trip_and_codex_shaped_create() -> None:
    params = CreateThreadParams(
        thread_id=new_thread_id(),
        cwd="/w",
        model_provider="openai",
        source="exec",
        base_instructions="be brief",
        dynamic_tools=[{"name": "t"}],
        event_persistence_mode="extended",
        memory_mode="disabled",
        originator="me",
        cli_version="1.2",
        git_info=GitInfo(branch="main"),
    )
    back, located = convert.create_from_proto(convert.create_to_proto(params))
    assert located
    assert back == params
    codex = pb.CreateThreadRequest(
        thread_id=params.thread_id,
        source=pb.SessionSource(kind=pb.SESSION_SOURCE_KIND_EXEC),
        base_instructions_json='{"text":"x"}',
    )
    back, located = convert.create_from_proto(codex)
    assert not located
    assert (back.cwd, back.model_provider, back.base_instructions, back.source) == ("", "", "x", "exec")


def test_resume_refuses_paths_but_not_the_synthetic_one() -> None:
    tid = new_thread_id()
    with pytest.raises(InvalidRequest, match="does not open client-supplied paths"):
        convert.resume_from_proto(pb.ResumeThreadRequest(thread_id=tid, rollout_path="/etc/passwd"))
    request = pb.ResumeThreadRequest(thread_id=tid, rollout_path=f"threadstore://{tid}")
    assert convert.resume_from_proto(request).rollout_path is None
    params = ResumeThreadParams(thread_id=tid, history=[], cwd="/w", model_provider="p")
    assert convert.resume_from_proto(convert.resume_to_proto(params)) == params


def test_list_params_round_trip() -> None:
    params = ListThreadsParams(
        page_size=7,
        cursor="c",
        sort_key="updated_at",
        sort_direction="asc",
        allowed_sources=["cli", {"custom": "x"}],
        model_providers=[],
        cwd_filters=[],
        archived=True,
        search_term="s",
    )
    assert convert.list_from_proto(convert.list_to_proto(params)) == params
    # Absent filter messages mean "no filter"; page size 0 means the default.
    assert convert.list_from_proto(pb.ListThreadsRequest()) == ListThreadsParams(sort_direction="asc")


def test_malformed_json_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="items_json"):
        convert.append_from_proto(pb.AppendThreadItemsRequest(thread_id=new_thread_id(), items_json=["{nope"]))
    with pytest.raises(InvalidRequest, match="metadata_json"):
        convert.create_from_proto(pb.CreateThreadRequest(thread_id=new_thread_id(), metadata_json="[1]"))
