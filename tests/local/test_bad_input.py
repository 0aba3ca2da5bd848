"""Bad input gets a clear ThreadStoreError and changes nothing on disk."""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from threadstore import (
    AppendThreadItemsParams,
    CreateThreadParams,
    InvalidRequest,
    ListThreadsParams,
    LoadThreadHistoryParams,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResourceExhausted,
    ResumeThreadParams,
    SearchThreadsParams,
    ThreadMetadataPatch,
    ThreadNotFound,
    ThreadStoreError,
    UpdateThreadMetadataParams,
    new_thread_id,
)
from threadstore._backends.local import LocalThreadStore
from threadstore._rollout.items import user_message

from ._util import history, make_thread, numbered, numbers, open_store, rollout_files, snapshot, spawn


@pytest.fixture
async def home(tmp_path: Path) -> Path:
    """A home with one cold and one archived thread."""
    home = tmp_path / "home"
    store = open_store(home)
    await make_thread(store, "cold one")
    archived = await make_thread(store, "archived one")
    await store.update_thread_metadata(UpdateThreadMetadataParams(archived, ThreadMetadataPatch(name="named")))
    await store.archive_thread(archived)
    await store.close()
    return home


@pytest.fixture
async def store(home: Path) -> AsyncIterator[LocalThreadStore]:
    s = open_store(home, max_item_bytes=64 * 1024)
    try:
        yield s
    finally:
        await s.close()


async def _refused(
    home: Path, call: Callable[[], Awaitable[Any]], kind: type[ThreadStoreError] = InvalidRequest
) -> str:
    """Run ``call``, require ``kind`` with a non-empty message, and require the home unchanged."""
    before = snapshot(home)
    with pytest.raises(kind) as info:
        await call()
    assert str(info.value).strip()
    assert snapshot(home) == before
    return str(info.value)


# -- ids -----------------------------------------------------------------------------------------

BAD_IDS = [
    "",
    "not-a-uuid",
    "../../etc/passwd",
    "01a211bf-81da-7c93-9c38-b2117fbac6d3/../../x",
    "01a211bf-81da-7c93-9c38-b2117fbac6d3.jsonl",
    "01a211bf81da7c939c38b2117fbac6d3",
    "01a211bf-81da-7c93-9c38-b2117fbac6dz",
    "01a211bf-81da-7c93-9c38-b2117fbac6d3\x00",
    "*",
    "%",
]


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_malformed_ids_are_refused(home: Path, store: LocalThreadStore, bad: str) -> None:
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: store.read_thread(ReadThreadParams(bad)),
        lambda: store.load_history(LoadThreadHistoryParams(bad)),
        lambda: store.create_thread(CreateThreadParams(thread_id=bad, cwd="/w", model_provider="p")),
        lambda: store.resume_thread(ResumeThreadParams(thread_id=bad)),
        lambda: store.append_items(AppendThreadItemsParams(bad, [user_message("x")])),
        lambda: store.update_thread_metadata(UpdateThreadMetadataParams(bad, ThreadMetadataPatch(name="n"))),
        lambda: store.archive_thread(bad),
        lambda: store.unarchive_thread(bad),
        lambda: store.delete_thread(bad),
        lambda: store.persist_thread(bad),
        lambda: store.flush_thread(bad),
        lambda: store.shutdown_thread(bad),
        lambda: store.discard_thread(bad),
        lambda: store.create_thread(
            CreateThreadParams(thread_id=new_thread_id(), cwd="/w", model_provider="p", forked_from_id=bad)
        ),
    ]
    for call in calls:
        message = await _refused(home, call)
        assert "invalid" in message
    assert len(rollout_files(home)) == 2


async def test_upper_case_ids_are_accepted_and_normalized(home: Path, store: LocalThreadStore) -> None:
    tid = new_thread_id()
    upper = tid.upper()
    await store.create_thread(CreateThreadParams(thread_id=upper, cwd="/w", model_provider="p"))
    await store.append_items(AppendThreadItemsParams(upper, [user_message("shout")]))
    await store.flush_thread(upper)
    await store.persist_thread(upper)
    assert store.live_rollout_path(upper).name.endswith(f"{tid}.jsonl")
    await store.shutdown_thread(upper)
    thread = await store.read_thread(ReadThreadParams(f" {upper} "))
    assert thread.thread_id == tid
    await store.resume_thread(ResumeThreadParams(thread_id=upper))
    await store.append_items(AppendThreadItemsParams(tid, [numbered(0)]))
    await store.discard_thread(upper)  # the same writer: it is gone afterwards
    with pytest.raises(ThreadNotFound):
        await store.flush_thread(tid)
    await store.archive_thread(upper)
    assert (await store.unarchive_thread(upper)).thread_id == tid
    assert numbers(await history(store, upper)) == [0]
    await store.delete_thread(upper)
    with pytest.raises(ThreadNotFound):
        await store.read_thread(ReadThreadParams(tid))


# -- enums, cursors, page sizes ---------------------------------------------------------------------


async def test_unknown_enum_values(home: Path, store: LocalThreadStore) -> None:
    tid = new_thread_id()
    bad: list[Callable[[], Any]] = [
        lambda: ListThreadsParams(sort_key="name"),  # type: ignore[arg-type]
        lambda: ListThreadsParams(sort_key="CREATED_AT"),  # type: ignore[arg-type]
        lambda: ListThreadsParams(sort_direction="up"),  # type: ignore[arg-type]
        lambda: ListThreadsParams(sort_direction=None),  # type: ignore[arg-type]
        lambda: SearchThreadsParams("x", sort_key="size"),  # type: ignore[arg-type]
        lambda: SearchThreadsParams("x", sort_direction="sideways"),  # type: ignore[arg-type]
        lambda: CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p", memory_mode="off"),  # type: ignore[arg-type]
        lambda: CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p", event_persistence_mode="full"),  # type: ignore[arg-type]
        lambda: ResumeThreadParams(thread_id=tid, event_persistence_mode="everything"),  # type: ignore[arg-type]
        lambda: ThreadMetadataPatch(memory_mode="maybe"),  # type: ignore[arg-type]
        lambda: ListThreadsParams(allowed_sources=[""]),
    ]
    before = snapshot(home)
    for make in bad:
        with pytest.raises(InvalidRequest) as info:
            make()
        assert "unknown" in str(info.value) or "invalid" in str(info.value)
    assert snapshot(home) == before


BAD_CURSORS = [
    "",
    "garbage",
    "|",
    "2026-01-01T00:00:00Z|../../etc/passwd",
    "2026-13-45T99:00:00Z|01a211bf-81da-7c93-9c38-b2117fbac6d3",
    "99999999999999999999999",
    "2026-01-01T00:00:00Z|01a211bf-81da-7c93-9c38-b2117fbac6d3|x",
    "\x00",
    "x" * 10_000,
    "' OR 1=1 --",
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
async def test_invalid_cursors(home: Path, store: LocalThreadStore, cursor: str) -> None:
    message = await _refused(home, lambda: store.list_threads(ListThreadsParams(cursor=cursor)))
    assert "cursor" in message
    await _refused(home, lambda: store.search_threads(SearchThreadsParams("one", cursor=cursor)))


async def test_non_string_cursor(home: Path, store: LocalThreadStore) -> None:
    await _refused(home, lambda: store.list_threads(ListThreadsParams(cursor=123)))  # type: ignore[arg-type]


async def test_cursor_round_trip_still_works(store: LocalThreadStore) -> None:
    page = await store.list_threads(ListThreadsParams(page_size=1, archived=False))
    assert len(page.items) == 1
    assert page.next_cursor is None
    page = await store.list_threads(ListThreadsParams(page_size=1, archived=True))
    assert page.items
    assert page.items[0].name == "named"


@pytest.mark.parametrize("size", [0, -1, 1001, 10**9, 2**70, True, 1.5, "50", None])
async def test_page_sizes_out_of_range(home: Path, store: LocalThreadStore, size: Any) -> None:
    await _refused(home, lambda: store.list_threads(ListThreadsParams(page_size=size)))
    await _refused(home, lambda: store.search_threads(SearchThreadsParams("one", page_size=size)))


async def test_largest_page_size_is_fine(store: LocalThreadStore) -> None:
    assert len((await store.list_threads(ListThreadsParams(page_size=1000))).items) == 1


# -- paths ---------------------------------------------------------------------------------------


async def test_path_traversal_and_non_rollout_paths(tmp_path: Path, home: Path, store: LocalThreadStore) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious\n")
    tid = new_thread_id()
    cold = (await store.list_threads(ListThreadsParams())).items[0]
    cold_path = Path(cold.rollout_path or "")
    not_rollouts = [
        str(victim),
        "../victim.txt",  # relative to the home
        "session_index.jsonl",
        str(home / "sessions"),  # a directory
        str(home / ".threadstore" / "index.sqlite3"),
        str(home / "sessions" / "missing.jsonl"),
        str(home / "sessions" / ".." / ".." / "victim.txt"),
        "x" * 5000,  # a name too long for the file system
        "a\x00b",
        "/dev/null",
    ]
    for path in not_rollouts:
        before = victim.read_bytes()
        message = await _refused(
            home, lambda p=path: store.resume_thread(ResumeThreadParams(thread_id=tid, rollout_path=p))
        )
        assert "rollout" in message
        await _refused(
            home, lambda p=path: store.resume_thread(ResumeThreadParams(thread_id=cold.thread_id, rollout_path=p))
        )
        await _refused(home, lambda p=path: store.read_thread_by_rollout_path(ReadThreadByRolloutPathParams(p)))
        assert victim.read_bytes() == before
    # The rollout of another thread cannot be resumed under this id, even renamed.
    renamed = tmp_path / "renamed.jsonl"
    renamed.write_bytes(cold_path.read_bytes())
    for path in (str(cold_path), str(renamed)):
        await _refused(home, lambda p=path: store.resume_thread(ResumeThreadParams(thread_id=tid, rollout_path=p)))
    assert renamed.read_bytes() == cold_path.read_bytes()
    # Nothing stayed live.
    with pytest.raises(ThreadNotFound):
        await store.flush_thread(tid)
    await store.resume_thread(ResumeThreadParams(thread_id=cold.thread_id))
    await store.shutdown_thread(cold.thread_id)


async def test_empty_rollout_path_is_refused(home: Path) -> None:
    with pytest.raises(InvalidRequest):
        ReadThreadByRolloutPathParams("")
    with pytest.raises(InvalidRequest):
        ReadThreadByRolloutPathParams(123)  # type: ignore[arg-type]


# -- items -----------------------------------------------------------------------------------------


async def _live(store: LocalThreadStore) -> tuple[str, Path]:
    tid = await make_thread(store, "live", shutdown=False)
    return tid, store.live_rollout_path(tid)


async def test_oversized_items_write_nothing(home: Path, store: LocalThreadStore) -> None:
    tid, path = await _live(store)
    size = path.stat().st_size
    huge = {"type": "response_item", "payload": {"type": "message", "text": "x" * 70_000}}
    message = await _refused(home, lambda: store.append_items(AppendThreadItemsParams(tid, [huge])), ResourceExhausted)
    assert "exceeds" in message
    # A good item before the bad one in the same call is not written either.
    await _refused(
        home, lambda: store.append_items(AppendThreadItemsParams(tid, [numbered(0), huge])), ResourceExhausted
    )
    await store.flush_thread(tid)
    assert path.stat().st_size == size
    # A lazily created thread is not materialized by a refused item.
    fresh = new_thread_id()
    await store.create_thread(CreateThreadParams(thread_id=fresh, cwd="/w", model_provider="p"))
    await _refused(home, lambda: store.append_items(AppendThreadItemsParams(fresh, [huge])), ResourceExhausted)
    await store.discard_thread(fresh)
    # The writer still works.
    await store.append_items(AppendThreadItemsParams(tid, [numbered(1)]))
    await store.shutdown_thread(tid)
    assert numbers(await history(store, tid)) == [1]


def _circular() -> dict[str, Any]:
    payload: dict[str, Any] = {"type": "message"}
    payload["self"] = payload
    return {"type": "response_item", "payload": payload}


NOT_JSON = {
    "object": {"type": "response_item", "payload": {"value": object()}},
    "set": {"type": "response_item", "payload": {"value": {1, 2}}},
    "bytes": {"type": "response_item", "payload": {"value": b"raw"}},
    "circular": _circular(),
    "lone-surrogate": {"type": "response_item", "payload": {"text": "half \ud800"}},
    "lone-surrogate-key": {"type": "response_item", "payload": {"\udfff": 1}},
    "infinity-int": {"type": "response_item", "payload": {"value": 10**5000}},
}


@pytest.mark.parametrize("item", NOT_JSON.values(), ids=NOT_JSON.keys())
async def test_non_json_items_write_nothing(home: Path, store: LocalThreadStore, item: dict[str, Any]) -> None:
    tid, path = await _live(store)
    size = path.stat().st_size
    message = await _refused(
        home, lambda: store.append_items(AppendThreadItemsParams(tid, [numbered(0), item])), ThreadStoreError
    )
    assert "JSON" in message or "exceeds" in message
    assert path.stat().st_size == size
    await store.shutdown_thread(tid)


async def test_nan_is_written_as_json(store: LocalThreadStore) -> None:
    """Values JSON cannot carry must not produce a line other readers reject."""
    tid, path = await _live(store)
    await store.append_items(AppendThreadItemsParams(tid, [{"type": "response_item", "payload": {"v": math.nan}}]))
    await store.shutdown_thread(tid)
    last = path.read_bytes().splitlines()[-1]
    json.loads(last, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


NOT_ITEMS = {
    "string": ["not an item"],
    "list": [[1, 2]],
    "none": [None],
    "no-type": [{"payload": {}}],
    "empty-type": [{"type": "", "payload": {}}],
    "int-type": [{"type": 3, "payload": {}}],
    "second-bad": [{"type": "response_item", "payload": {}}, 42],
}


@pytest.mark.parametrize("items", NOT_ITEMS.values(), ids=NOT_ITEMS.keys())
async def test_non_dict_items_are_refused(home: Path, store: LocalThreadStore, items: list[Any]) -> None:
    tid, path = await _live(store)
    size = path.stat().st_size
    message = await _refused(home, lambda: store.append_items(AppendThreadItemsParams(tid, items)))
    assert "item" in message
    assert path.stat().st_size == size
    await store.shutdown_thread(tid)


async def test_bad_metadata_updates_change_nothing(home: Path, store: LocalThreadStore) -> None:
    cold = (await store.list_threads(ListThreadsParams())).items[0].thread_id
    await _refused(
        home,
        lambda: store.update_thread_metadata(UpdateThreadMetadataParams(cold, ThreadMetadataPatch(name="y" * 70_000))),
        ResourceExhausted,
    )
    await _refused(
        home,
        lambda: store.update_thread_metadata(UpdateThreadMetadataParams(cold, ThreadMetadataPatch(name="half \ud800"))),
    )
    with pytest.raises(InvalidRequest):
        ThreadMetadataPatch(name=42)  # type: ignore[arg-type]
    assert (await store.read_thread(ReadThreadParams(cold))).name is None


# -- a disk that fills up --------------------------------------------------------------------------


def _run_child(*args: str) -> list[dict[str, Any]]:
    proc = spawn(*args)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


async def test_file_size_limit_fails_cleanly_and_the_thread_resumes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    tid = await make_thread(store, "before the disk filled", shutdown=False)
    await store.append_items(AppendThreadItemsParams(tid, [numbered(n) for n in range(5)]))
    path = store.live_rollout_path(tid)
    await store.shutdown_thread(tid)
    await store.close()
    before = path.read_bytes()
    limit = len(before) + 2000

    report = _run_child("fill", str(home), tid, str(limit), "8000")
    big, small = report
    assert big["step"] == "big"
    assert big["error"] == "ResourceExhausted", big
    assert "limit" in big["message"] or "space" in big["message"]
    # The partial line was truncated away; the next item fits and lands on its own line.
    assert small == {"step": "small", "error": None}
    data = path.read_bytes()
    assert data.startswith(before)
    tail = data[len(before) :]
    assert tail.count(b"\n") == 1
    assert tail.endswith(b"\n")
    assert json.loads(tail)["payload"]["n"] == 1001

    store = open_store(home)
    try:
        assert numbers(await history(store, tid)) == [0, 1, 2, 3, 4, 1001]
        await store.resume_thread(ResumeThreadParams(thread_id=tid))
        await store.append_items(AppendThreadItemsParams(tid, [numbered(5)]))
        await store.shutdown_thread(tid)
        assert numbers(await history(store, tid)) == [0, 1, 2, 3, 4, 1001, 5]
    finally:
        await store.close()


async def test_file_size_limit_on_the_first_line_leaves_no_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_store(home)
    await make_thread(store, "existing")
    await store.close()
    before = snapshot(home)
    tid = new_thread_id()
    (first,) = _run_child("fill-new", str(home), tid, "40")
    assert first["step"] == "first"
    assert first["error"] == "ResourceExhausted", first
    assert snapshot(home) == before
    store = open_store(home)
    try:
        with pytest.raises(ThreadNotFound):
            await store.read_thread(ReadThreadParams(tid))
        assert len((await store.list_threads(ListThreadsParams())).items) == 1
    finally:
        await store.close()


def test_child_helper_is_importable() -> None:
    """The helper script runs with this interpreter (guards the subprocess tests above)."""
    proc = spawn("nonsense", "x", "y")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "unknown command" in err
    assert isinstance(proc, subprocess.Popen)


async def test_driver_errors_do_not_escape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from threadstore import Internal, ListThreadsParams
    from threadstore._backends.local import LocalThreadStore

    store = LocalThreadStore(tmp_path / "home")
    try:

        def locked(*_: object, **__: object) -> list[tuple[object, ...]]:
            raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(store._catalog.index, "page", locked)
        with pytest.raises(Internal, match="database is locked"):
            await store.list_threads(ListThreadsParams())
    finally:
        monkeypatch.undo()
        await store.close()


async def test_a_session_meta_of_several_megabytes_can_be_amended(tmp_path: Path) -> None:
    from threadstore import CreateThreadParams, GitInfoPatch, ThreadMetadataPatch, UpdateThreadMetadataParams

    store = LocalThreadStore(tmp_path / "home")
    try:
        tid = new_thread_id()
        instructions = "follow these rules. " * (5 * 1024 * 1024 // 20)  # 5 MiB of base instructions
        await store.create_thread(
            CreateThreadParams(thread_id=tid, cwd="/w", model_provider="p", base_instructions=instructions)
        )
        await store.append_items(AppendThreadItemsParams(tid, [user_message("hi")]))
        await store.shutdown_thread(tid)
        patch = ThreadMetadataPatch(memory_mode="disabled", git_info=GitInfoPatch(branch="main"))
        thread = await store.update_thread_metadata(UpdateThreadMetadataParams(tid, patch))
        assert thread.memory_mode == "disabled"
        assert thread.git_info is not None
        assert thread.git_info.branch == "main"
    finally:
        await store.close()
