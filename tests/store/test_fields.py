"""The field table (the specs on ``StoredThread``) against everything that must agree with it:
the wire message of the ``.proto``, the patch, the fold, the JSON form and the app server."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from threadstore import GitInfo, StoredThread, ThreadMetadataPatch, TokenUsage
from threadstore._appserver.convert import thread_json
from threadstore._contract.fields import Kind
from threadstore._contract.serialize import thread_from_fold, thread_from_json, thread_to_json
from threadstore._contract.thread import THREAD_FIELDS
from threadstore._rollout.summary import ThreadSummary
from threadstore._wire._proto import thread_store_pb2 as pb
from threadstore._wire.threads import thread_from_proto, thread_to_proto

T0 = datetime(2026, 11, 25, 8, 0, 1, 123000, tzinfo=UTC)  # the JSON form keeps milliseconds
TID = "01a211bf-81da-7c93-9c38-b2117fbac6d3"


def test_every_wire_field_of_stored_thread_is_in_the_table_and_named_alike() -> None:
    by_number = pb.StoredThread.DESCRIPTOR.fields_by_number
    claimed: dict[int, str] = {}
    for spec in THREAD_FIELDS:
        if spec.wire is None:
            continue
        assert spec.wire in by_number, f"{spec.name}: no field {spec.wire} in the .proto's StoredThread"
        assert by_number[spec.wire].name == spec.wire_name, f"{spec.name}: field {spec.wire} is {by_number[spec.wire].name}"
        claimed[spec.wire] = spec.name
        if spec.wire_micros is not None:
            assert by_number[spec.wire_micros].name == f"{spec.wire_name}_micros"
            claimed[spec.wire_micros] = spec.name
        else:
            assert spec.kind not in (Kind.TIME, Kind.OPT_TIME), f"{spec.name}: a time needs its _micros companion"
    unclaimed = {n: f.name for n, f in by_number.items() if n not in claimed}
    assert not unclaimed, f"fields of the .proto no table entry describes: {unclaimed}"


def test_the_patch_has_exactly_the_patchable_fields() -> None:
    patchable = {spec.name for spec in THREAD_FIELDS if spec.patch is not None}
    declared = {f.name for f in dataclasses.fields(ThreadMetadataPatch)} - {"title"}
    assert declared == patchable


def test_every_folded_field_names_a_fold_attribute() -> None:
    summary = ThreadSummary(TID)
    for spec in THREAD_FIELDS:
        if isinstance(spec.fold, str):
            assert hasattr(summary, spec.fold), f"{spec.name}: ThreadSummary has no {spec.fold}"


def _full_thread() -> StoredThread:
    # A value of each kind: the table pairs each field with its kind, so the values are as varied
    # as the fields (which the type checker cannot follow through the table).
    values: dict[Kind, Any] = {
        Kind.ID: TID,
        Kind.TEXT: "text",
        Kind.OPT_TEXT: "optional",
        Kind.OPT_ID: "01a211bf-81da-7c93-9c38-b2117fbac6d4",
        Kind.TIME: T0,
        Kind.OPT_TIME: T0,
        Kind.SOURCE: {"subagent": "review"},
        Kind.GIT: GitInfo("abc", "main", "https://example.invalid/r.git"),
        Kind.USAGE: TokenUsage(1, 2, 3, 4, 10),
        Kind.JSON: {"mode": "workspace-write", "n": [1, 2]},
        Kind.JSON_TEXT: "on-request",
        Kind.MEMORY: "disabled",
        Kind.HISTORY_MODE: "paginated",
        Kind.HISTORY: None,
        Kind.LABELS: {"host": "alpha", "team/area": "core"},
    }
    return StoredThread(**{spec.name: values[spec.kind] for spec in THREAD_FIELDS})


def test_a_thread_with_every_field_set_round_trips_as_json_and_on_the_wire() -> None:
    thread = _full_thread()
    assert thread_from_json(thread_to_json(thread)) == thread
    assert thread_from_proto(thread_to_proto(thread)) == thread


def test_every_field_with_a_v2_key_reaches_the_app_server() -> None:
    shown = thread_json(_full_thread())
    for spec in THREAD_FIELDS:
        if spec.v2 is not None:
            assert shown.get(spec.v2) is not None, spec.name


def test_the_fold_fills_the_fields_it_derives() -> None:
    summary = ThreadSummary(TID)
    summary.add(
        {
            "type": "session_meta",
            "payload": {"id": TID, "timestamp": "2026-11-25T08:00:01.000Z", "cwd": "/srv", "model_provider": "p",
                        "source": "exec", "cli_version": "0.125.0", "git": {"branch": "main"}},
        }
    )
    summary.add({"type": "turn_context", "payload": {"model": "m", "cwd": "/srv", "approval_policy": "never"}})
    summary.add({"type": "event_msg", "payload": {"type": "user_message", "message": "hello"}}, "2026-11-25T08:00:02.000Z")
    thread = thread_from_fold(summary, thread_id=TID, fallback_time=T0)
    assert (thread.cwd, thread.model_provider, thread.model, thread.preview) == ("/srv", "p", "m", "hello")
    assert (thread.source, thread.cli_version, thread.approval_mode) == ("exec", "0.125.0", "never")
    assert thread.git_info == GitInfo(branch="main")
    assert thread.first_user_message == "hello"
    assert thread.created_at < thread.updated_at
