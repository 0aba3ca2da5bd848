"""Where bad input enters, every call works or raises a store error: ids, cursors, metadata
patches, the rollout reader, item checks and the wire conversions."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from threadstore._backends.shared.query import decode_cursor, encode_cursor, snippet
from threadstore._contract.listing import ListThreadsParams, SearchThreadsParams
from threadstore._contract.patch import ThreadMetadataPatch
from threadstore._contract.types import AppendThreadItemsParams
from threadstore._ids import validate_thread_id
from threadstore._rollout.items import validate_items
from threadstore._rollout.jsonl import parse_chunk
from threadstore._time import parse_timestamp
from threadstore._wire import convert
from threadstore._wire._proto import thread_store_pb2 as pb
from threadstore.errors import InvalidRequest, ThreadStoreError

from .strategies import items, json_values, texts, timestamps


@given(st.one_of(texts, st.uuids().map(str), st.uuids().map(lambda u: str(u).upper())))
def test_ids_are_canonical_or_invalid(value: str) -> None:
    try:
        checked = validate_thread_id(value)
    except InvalidRequest:
        return
    assert checked == str(uuid.UUID(value))


@given(timestamps)
def test_timestamps_parse_to_utc_or_nothing(value: str) -> None:
    parsed = parse_timestamp(value)
    assert parsed is None or parsed.tzinfo == UTC


@given(st.one_of(texts, timestamps, timestamps.map(lambda t: f"{t}|{uuid.uuid4()}")))
def test_cursors_decode_or_are_invalid(cursor: str) -> None:
    message = ""
    try:
        decode_cursor(cursor)
    except InvalidRequest as exc:
        message = str(exc)
    assert len(message) < 300  # a bad cursor is never echoed back whole


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)), st.uuids())
def test_cursors_round_trip(when: datetime, thread_id: uuid.UUID) -> None:
    cursor = decode_cursor(encode_cursor(when, str(thread_id)))
    assert cursor is not None
    assert cursor.thread_id == str(thread_id)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "name",
                "memory_mode",
                "git_info",
                "preview",
                "cwd",
                "created_at",
                "sandbox_policy",
                "source",
                "token_usage",
                "x",
            ]
        ),
        json_values,
        max_size=4,
    )
)
def test_patches_from_json_are_patches_or_invalid(value: dict[str, object]) -> None:
    try:
        patch = ThreadMetadataPatch.from_json(value)
    except InvalidRequest:
        return
    # A patch that was accepted encodes, and round-trips.
    assert ThreadMetadataPatch.from_json(json.loads(json.dumps(patch.to_json()))) == patch


@given(st.lists(items, max_size=5))
def test_appended_items_are_checked_where_they_enter(batch: list[object]) -> None:
    try:
        params = AppendThreadItemsParams(thread_id=str(uuid.uuid4()), items=batch)  # type: ignore[arg-type]
    except InvalidRequest:
        return
    kept = params.persisted
    limited, extended = kept.for_mode("limited"), kept.for_mode("extended")
    assert len(limited) <= len(extended) <= len(kept.items) <= len(params.items)
    assert len(extended) <= len(kept.for_mode("extended", paginated=True)) <= len(kept.items)
    assert validate_items(params.items) == params.items


@given(texts)
def test_search_terms_are_accepted_or_invalid(term: str) -> None:
    for build in (lambda: SearchThreadsParams(search_term=term), lambda: ListThreadsParams(search_term=term)):
        try:
            build()
        except InvalidRequest:
            continue


@given(texts, texts)
def test_snippets_never_fail(text: str, term: str) -> None:
    found = snippet(text, term)
    assert found is None or isinstance(found, str)


@given(st.binary(max_size=400), st.lists(items, max_size=4))
def test_the_rollout_reader_never_hides_a_good_line(garbage: bytes, good: list[dict[str, object]]) -> None:
    lines = []
    for item in good:
        try:
            lines.append(json.dumps(item, ensure_ascii=False).encode())
        except (UnicodeEncodeError, ValueError):
            continue
    data = garbage.replace(b"\n", b" ") + b"\n" + b"\n".join(lines) + (b"\n" if lines else b"")
    chunk = parse_chunk(data)
    assert len(chunk.items) >= len(lines)


@given(
    st.builds(
        pb.AppendThreadItemsRequest,
        thread_id=st.one_of(texts.filter(lambda t: "\ud800" not in t), st.uuids().map(str)),
        items_json=st.lists(
            st.one_of(texts, json_values.map(json.dumps)).filter(
                lambda t: all(not 0xD800 <= ord(c) <= 0xDFFF for c in t)
            ),
            max_size=3,
        ),
    )
)
def test_wire_requests_convert_or_are_invalid(request: pb.AppendThreadItemsRequest) -> None:
    error: ThreadStoreError | None = None
    try:
        convert.append_from_proto(request)
    except ThreadStoreError as exc:
        error = exc
    assert error is None or isinstance(error, InvalidRequest)
