"""Where a mirror picks up: from the target's own checkpoint (a new machine, a restart), after a
crash mid-burst, after a rollout was compressed, and what it does when a rollout was rewritten
(copied again whole, reported) or the thread went on elsewhere (reported, never merged)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import zstandard

from threadstore import InMemoryThreadStore, LoadThreadHistoryParams, ReadThreadParams, ThreadStore
from threadstore._contract.patch import ThreadMetadataPatch, UpdateThreadMetadataParams
from threadstore._mirror.checkpoint import Checkpoint, source_key

from ..fixtures import CODEX_HOME_0125, CODEX_HOME_0169
from .support import append, codex_home, codex_line, differences, mirror_once, rollout_of, rollouts

THREAD_A_0125 = "01a211bf-81da-7c93-9c38-b2117fbac6d3"
THREAD_B_0169 = "01a211bf-a31b-7483-a567-3a0de6dc90fd"


async def _lines(target: ThreadStore, thread_id: str) -> int:
    history = await target.load_history(LoadThreadHistoryParams(thread_id, include_archived=True, resolve_forks=False))
    return len(history.items)


async def test_a_new_run_carries_on_from_the_targets_checkpoint(target: ThreadStore, tmp_path: Path) -> None:
    home = codex_home(CODEX_HOME_0125, tmp_path / "home")
    assert (await mirror_once(target, home, host_label="h")).ok
    before = await _lines(target, THREAD_A_0125)
    append(rollout_of(home, THREAD_A_0125), codex_line("one"), codex_line("two"))
    # A mirror with nothing but the target to go by (a new process, or a new machine).
    report = await mirror_once(target, home, host_label="h")
    assert report.ok
    assert [(e.kind, e.thread_id, e.lines) for e in report.events if e.lines] == [("appended", THREAD_A_0125, 2)]
    assert await _lines(target, THREAD_A_0125) == before + 2
    assert await differences(target, home) == []


async def test_a_crash_mid_burst_leaves_no_gap_and_no_duplicate(target: ThreadStore, tmp_path: Path) -> None:
    """The checkpoint says ``open`` at an earlier position while the target holds more lines
    (a mirror killed after appending, before writing its checkpoint): the next run reads the
    target, and sends only what it lacks."""
    home = codex_home(CODEX_HOME_0125, tmp_path / "home")
    path = rollout_of(home, THREAD_A_0125)
    assert (await mirror_once(target, home, host_label="h")).ok
    key = source_key("h", home.resolve())
    saved = Checkpoint.decode((await target.read_thread(ReadThreadParams(THREAD_A_0125))).labels[key])
    assert saved is not None
    append(path, codex_line("sent before the crash"))
    assert (await mirror_once(target, home, host_label="h")).ok
    # Roll the checkpoint back to the earlier position, open, as a killed mirror leaves it.
    await target.update_thread_metadata(
        UpdateThreadMetadataParams(THREAD_A_0125, ThreadMetadataPatch(labels={key: saved.opened().encode()}))
    )
    append(path, codex_line("written after the crash"))
    report = await mirror_once(target, home, host_label="h")
    assert [(e.kind, e.lines) for e in report.events if e.thread_id == THREAD_A_0125] == [("appended", 1)]
    assert await differences(target, home) == []
    after = Checkpoint.decode((await target.read_thread(ReadThreadParams(THREAD_A_0125))).labels[key])
    assert after is not None
    assert (after.lines, after.offset, after.open) == (saved.lines + 2, path.stat().st_size, False)


async def test_a_thread_without_a_checkpoint_is_compared_line_by_line(tmp_path: Path) -> None:
    """A thread the target has but this source never checkpointed (checked out here, or a
    mirror killed right after creating it): its lines are compared, the rest follows."""
    target = InMemoryThreadStore()
    home = codex_home(CODEX_HOME_0125, tmp_path / "home")
    assert (await mirror_once(target, home, host_label="one-machine")).ok
    append(rollout_of(home, THREAD_A_0125), codex_line("more"))
    report = await mirror_once(target, home, host_label="another-machine")
    assert [(e.kind, e.lines) for e in report.events if e.lines] == [("appended", 1)]
    assert await differences(target, home) == []


@pytest.mark.parametrize("change", ["truncated", "edited", "restored"])
async def test_a_rewritten_rollout_is_reported_and_copied_again_whole(tmp_path: Path, change: str) -> None:
    target = InMemoryThreadStore()
    home = codex_home(CODEX_HOME_0125, tmp_path / "home")
    path = rollout_of(home, THREAD_A_0125)
    backup = path.read_bytes()
    append(path, codex_line("a line the backup lacks"))
    assert (await mirror_once(target, home)).ok
    data = path.read_bytes()
    if change == "truncated":
        path.write_bytes(data[: data.rfind(b"\n", 0, len(data) - 1) + 1])
    elif change == "edited":
        path.write_bytes(data.replace(b"echo: ", b"ECHO: ", 1))
    else:  # the home restored from a backup taken before the last line, then Codex went on
        path.write_bytes(backup)
        append(path, codex_line("written after the restore"))
    report = await mirror_once(target, home)
    rewritten = [e for e in report.events if e.kind == "rewritten"]
    assert [e.thread_id for e in rewritten] == [THREAD_A_0125]
    assert "copying it again whole" in (rewritten[0].detail or "")
    assert await differences(target, home) == []


async def test_a_rollout_compressed_later_is_the_same_thread(tmp_path: Path) -> None:
    target = InMemoryThreadStore()
    home = codex_home(CODEX_HOME_0169, tmp_path / "home")
    assert (await mirror_once(target, home)).ok
    path = rollout_of(home, THREAD_B_0169)
    packed = path.with_name(path.name + ".zst")
    packed.write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
    os.unlink(path)
    report = await mirror_once(target, home)
    assert report.ok
    assert report.lines == 0
    assert not report.counts["rewritten"]
    # Codex appends to a compressed rollout by writing it back plain first.
    plain = packed.with_name(path.name)
    plain.write_bytes(zstandard.ZstdDecompressor().decompress(packed.read_bytes()))
    os.unlink(packed)
    append(plain, codex_line("after", ordinal=10_000))
    report = await mirror_once(target, home)
    assert [(e.kind, e.lines) for e in report.events if e.lines] == [("appended", 1)]
    assert await differences(target, home) == []


async def test_a_thread_that_went_on_elsewhere_is_never_merged(tmp_path: Path) -> None:
    """Home ``a`` mirrored a thread; a copy of it on home ``b`` went on (and was mirrored);
    then ``a`` goes on too: its new lines are reported, not appended after ``b``'s."""
    target = InMemoryThreadStore()
    first = codex_home(CODEX_HOME_0125, tmp_path / "a")
    second = codex_home(CODEX_HOME_0125, tmp_path / "b")
    assert (await mirror_once(target, first, host_label="a")).ok
    append(rollout_of(second, THREAD_A_0125), codex_line("went on at b"))
    assert (await mirror_once(target, second, host_label="b")).ok
    assert await differences(target, second) == []
    append(rollout_of(first, THREAD_A_0125), codex_line("went on at a"))
    report = await mirror_once(target, first, host_label="a")
    stopped = [e for e in report.events if e.kind == "stopped"]
    assert [e.thread_id for e in stopped] == [THREAD_A_0125]
    assert not report.ok
    assert "not merged" in (stopped[0].detail or "")
    assert await differences(target, second) == []  # b's thread is untouched


async def test_a_different_thread_of_the_same_id_is_not_touched(tmp_path: Path) -> None:
    target = InMemoryThreadStore()
    first = codex_home(CODEX_HOME_0125, tmp_path / "a")
    second = codex_home(CODEX_HOME_0125, tmp_path / "b")
    path = rollout_of(second, THREAD_A_0125)
    path.write_bytes(path.read_bytes().replace(b"Storage work", b"Other work!!"))
    assert (await mirror_once(target, first, host_label="a")).ok
    report = await mirror_once(target, second, host_label="b")
    assert [e.thread_id for e in report.events if e.kind == "stopped"] == [THREAD_A_0125]
    assert await differences(target, first) == []


@pytest.mark.parametrize("policy", ["keep", "follow"])
async def test_deleted_rollouts_follow_only_when_asked(tmp_path: Path, policy: str) -> None:
    target = InMemoryThreadStore()
    home = codex_home(CODEX_HOME_0125, tmp_path / "home")
    assert (await mirror_once(target, home, host_label="h")).ok
    rollout_of(home, THREAD_A_0125).unlink()
    report = await mirror_once(target, home, host_label="h", delete_policy=policy)
    assert [(e.kind, e.thread_id) for e in report.events if e.kind in ("deleted", "kept")] == (
        [("deleted", THREAD_A_0125)] if policy == "follow" else []
    )
    exists = True
    try:
        await target.read_thread(ReadThreadParams(THREAD_A_0125))
    except Exception:
        exists = False
    assert exists is (policy == "keep")
    assert len(rollouts(home)) == 4
    assert await differences(target, home) == []


async def test_the_same_thread_in_two_homes_is_carried_by_the_first(tmp_path: Path) -> None:
    target = InMemoryThreadStore()
    first = codex_home(CODEX_HOME_0125, tmp_path / "a")
    second = codex_home(CODEX_HOME_0125, tmp_path / "b")
    append(rollout_of(second, THREAD_A_0125), codex_line("only in b"))
    report = await mirror_once(target, first, second)
    doubled = {e.thread_id for e in report.events if e.kind == "stopped"}
    assert doubled == set(rollouts(first))
    assert await differences(target, first) == []
