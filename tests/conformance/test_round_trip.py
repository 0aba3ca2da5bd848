"""Exact round trips of real Codex threads through every backend (issue 11, point 1).

Every thread of both fixture homes (Codex 0.125 and 0.169: legacy and paginated history, a
renamed thread, an archived one, a fork by reference), read from plain and from
zstd-compressed rollouts, is copied into each backend, then exported from it as a rollout and as
a thread JSON and imported into a fresh local home. At every step each line's JSON is the same
bytes as in the file Codex wrote, and the thread's creation time, update time, name and archived
state are those Codex's files say.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
import pytest_asyncio
import zstandard

from threadstore import _json
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.local.layout import thread_id_from_name
from threadstore._contract.base import ThreadStore
from threadstore._contract.types import LoadThreadHistoryParams, StoredThread
from threadstore.testing import Backend
from threadstore.testing._backends import LocalBackend, MemoryBackend, remote_over
from threadstore.transfer import (
    ThreadRecord,
    copy_threads,
    read_record,
    record_from_bytes,
    record_from_json,
    record_to_json,
    rollout_bytes,
    write_record,
)

from ..fixtures import CODEX_HOME_0125, CODEX_HOME_0169
from .postgres_backends import PostgresBackend

pytestmark = pytest.mark.asyncio

BACKENDS: list[type[Backend]] = [
    MemoryBackend,
    LocalBackend,
    PostgresBackend,
    remote_over(MemoryBackend),
    remote_over(LocalBackend),
    remote_over(PostgresBackend),
]
HOMES = {"codex-0.125": CODEX_HOME_0125, "codex-0.169": CODEX_HOME_0169}
FORK = "01a211bf-a3a2-7a11-957b-fff58b5ad6c6"  # 0.169: a fork by reference of 01a211bf-a202-…


def _compress_rollouts(home: Path) -> None:
    for path in sorted(home.rglob("rollout-*.jsonl")):
        path.with_name(path.name + ".zst").write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
        path.unlink()


def _codex_files(home: Path) -> dict[str, bytes]:
    """Each thread's rollout bytes as Codex wrote them (from the fixture itself)."""
    files = {thread_id_from_name(path.name): path.read_bytes() for path in home.rglob("rollout-*.jsonl")}
    return {thread_id: data for thread_id, data in files.items() if thread_id is not None}


def _metadata(thread: StoredThread) -> tuple[object, ...]:
    return thread.created_at, thread.updated_at, thread.name, thread.archived


@pytest_asyncio.fixture(
    params=[(h, z) for h in HOMES for z in (False, True)], ids=lambda p: p[0] + ("-zst" if p[1] else "")
)
async def codex_home(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[LocalThreadStore, Path]]:
    name, compressed = request.param
    home = tmp_path / "codex-home"
    shutil.copytree(HOMES[name], home)
    if compressed:
        _compress_rollouts(home)
    async with LocalThreadStore(home) as store:
        yield store, HOMES[name]


@pytest.mark.parametrize("backend_class", BACKENDS, ids=lambda b: b.__name__)
async def test_codex_threads_round_trip_exactly(
    backend_class: type[Backend], codex_home: tuple[LocalThreadStore, Path], tmp_path: Path
) -> None:
    source, fixture = codex_home
    originals = _codex_files(fixture)
    backend = backend_class(tmp_path / "backend")
    try:
        target = await backend.open()
        report = await copy_threads(source, target)
        assert [o.status for o in report.outcomes] == ["copied"] * len(originals)
        assert [o.notes for o in report.outcomes] == [[]] * len(originals)
        for thread_id, raw in originals.items():
            record = await read_record(target, thread_id)
            assert rollout_bytes(record) == raw, thread_id
            assert _metadata(record.thread) == _metadata((await read_record(source, thread_id)).thread)
            await _export_and_import(record, raw, tmp_path / "imports" / thread_id)
        if FORK in originals:
            await _forks_resolve_alike(source, target)
    finally:
        await backend.aclose()


async def _export_and_import(record: ThreadRecord, raw: bytes, where: Path) -> None:
    """Both export forms, imported into a fresh local home, give the same lines and metadata;
    the rollout form is Codex's own bytes."""
    exported = rollout_bytes(record)
    as_json = orjson.loads(_json.dumps(record_to_json(record)))
    for index, imported in enumerate([record_from_bytes(exported, origin="export"), record_from_json(as_json)]):
        async with LocalThreadStore(where / str(index)) as home:
            outcome = await write_record(home, imported)
            assert (outcome.status, outcome.notes) == ("copied", [])
            back = await read_record(home, record.thread_id)
            assert rollout_bytes(back) == raw
            files = list((where / str(index)).rglob(f"rollout-*{record.thread_id}.jsonl"))
            assert [f.read_bytes() for f in files] == [raw]
            if index == 1:  # the thread JSON carries everything; a rollout only what its lines say
                assert _metadata(back.thread) == _metadata(record.thread)
            else:
                assert back.thread.created_at == record.thread.created_at
                assert back.thread.updated_at == record.thread.updated_at


async def _forks_resolve_alike(source: ThreadStore, target: ThreadStore) -> None:
    a = await source.load_history(LoadThreadHistoryParams(FORK, include_archived=True))
    b = await target.load_history(LoadThreadHistoryParams(FORK, include_archived=True))
    assert b.lines() == a.lines()
    assert len(a.items) > 12  # the parent's lines are part of it
