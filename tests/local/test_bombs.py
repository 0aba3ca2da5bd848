"""Decompression and parsing are bounded: a compressed rollout is read within a limit on what it
decompresses to and on any one line, so a compression bomb is refused (and counted) at a bounded
cost, wherever it is met (imported, or planted in a home), and the rest of the home is unaffected.

A bomb here is 48 KiB of zstd standing for a session_meta line and then 1 GiB of one line that
never ends. Each case runs in a process of its own whose peak memory is measured (``wait4``):
without the limits, reading it holds the whole gigabyte (and more).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import zstandard

from threadstore import AppendThreadItemsParams, ListThreadsParams, LoadThreadHistoryParams, ResumeThreadParams
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.local.lines import iter_lines
from threadstore._rollout.items import session_meta, user_message

from ._util import make_thread

BOMB_BYTES = 1 << 30
#: Peak memory allowed to a process that meets a bomb (generous: the interpreter and the store
#: take about 60 MiB; the bomb, unbounded, takes over 1 GiB).
PEAK_LIMIT_KIB = 320 * 1024
BOMB_ID = "01a211bf-81da-7c20-8000-00000000b0b0"


def _bomb(path: Path, thread_id: str = BOMB_ID) -> Path:
    first = session_meta(thread_id, timestamp="2026-01-01T00:00:00.000Z", cwd="/srv/bomb", model_provider="openai")
    out = io.BytesIO()
    writer = zstandard.ZstdCompressor(level=1).stream_writer(out, closefd=False)
    writer.write(json.dumps({"timestamp": "2026-01-01T00:00:00.000Z", **first}).encode() + b"\n")
    block = b" " * (1 << 20)
    for _ in range(BOMB_BYTES // len(block)):
        writer.write(block)
    writer.flush(zstandard.FLUSH_FRAME)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return path


def _run_measured(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str, int]:
    """Run a Python process; (exit status, stdout, stderr, peak resident memory in KiB)."""
    process = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        out, err = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"the process did not finish: {err[-2000:]}") from None
    return process.returncode, out, err, _peak_of(err)


def _peak_of(stderr: str) -> int:
    """The peak the child reported as it exited (see :data:`_REPORT_PEAK`)."""
    for line in reversed(stderr.splitlines()):
        if line.startswith("peak-kib "):
            return int(line.split()[1])
    raise AssertionError(f"the child did not report its peak memory: {stderr[-2000:]}")


#: Makes a child print its own peak resident memory on stderr as it exits (VmHWM: the peak of
#: this program's memory, not of the test process it was forked from, as ``ru_maxrss`` says).
_REPORT_PEAK = (
    "import atexit, sys; atexit.register(lambda: print('peak-kib', next(int(l.split()[1]) for l in "
    "open('/proc/self/status') if l.startswith('VmHWM:')), file=sys.stderr))"
)


def test_importing_a_bomb_is_refused_at_a_bounded_cost(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "bomb.jsonl.zst")
    assert bomb.stat().st_size < 64 * 1024
    code = f"{_REPORT_PEAK}; from threadstore._cli import main; sys.exit(main(sys.argv[1:]))"
    status, out, err, peak = _run_measured(
        ["-c", code, "--home", str(tmp_path / "home"), "import", str(bomb), "--json"]
    )
    assert status == 1, err
    result = json.loads(out)
    assert result["error"] == {"code": "import_failed", "message": "1 thread(s) could not be imported"}
    reason = result["threads"][0]["reason"]
    assert reason.startswith(f"rollout {bomb} holds more than"), reason
    assert reason.endswith("refused")
    assert peak < PEAK_LIMIT_KIB, f"peak {peak} KiB"


_IN_A_HOME = """
import asyncio, json, sys
from threadstore import ListThreadsParams, LoadThreadHistoryParams, ThreadStoreError
from threadstore._backends.local import LocalThreadStore

async def main(home, bomb_id, other_id):
    async with LocalThreadStore(home) as store:
        listed = [t.thread_id for t in (await store.list_threads(ListThreadsParams(page_size=50))).items]
        other = len((await store.load_history(LoadThreadHistoryParams(other_id))).items)
        try:
            await store.load_history(LoadThreadHistoryParams(bomb_id))
            bomb = "read"
        except ThreadStoreError as exc:
            bomb = type(exc).__name__
        report = await store.reindex()
    print(json.dumps({"listed": listed, "other": other, "bomb": bomb, "unreadable": report.unreadable_files}))

asyncio.run(main(*sys.argv[1:]))
"""


def test_a_bomb_planted_in_a_home_is_refused_and_counted(tmp_path: Path) -> None:
    home = tmp_path / "home"

    async def seed() -> str:
        async with LocalThreadStore(home) as store:
            return await make_thread(store, "unrelated", "thread")

    other = asyncio.run(seed())
    _bomb(home / "sessions" / "2026" / "01" / "01" / f"rollout-2026-01-01T00-00-00-{BOMB_ID}.jsonl.zst")
    status, out, err, peak = _run_measured(
        ["-c", f"{_REPORT_PEAK}\n{textwrap.dedent(_IN_A_HOME)}", str(home), BOMB_ID, other]
    )
    assert status == 0, err
    result = json.loads(out)
    assert result["listed"] == [other]
    assert result["other"] == 3
    assert result["bomb"] == "ThreadNotFound"  # never indexed: it is unreadable
    assert result["unreadable"] == 1
    assert "refused" in err
    assert peak < PEAK_LIMIT_KIB, f"peak {peak} KiB"


async def test_a_line_over_the_limit_is_skipped_and_counted_by_every_reader(tmp_path: Path) -> None:
    """A plain rollout with a line of 65 MiB (valid JSON: it would parse): the index, a whole
    read and the page reader all skip it, and agree on the lines around it."""
    home = tmp_path / "home"
    async with LocalThreadStore(home) as store:
        tid = await make_thread(store, "before")
    rollout = next((home / "sessions").rglob("*.jsonl"))
    huge = {"timestamp": "2026-01-01T00:00:01.000Z", **user_message("x" * (65 << 20))}
    after = {"timestamp": "2026-01-01T00:00:02.000Z", **user_message("after")}
    with rollout.open("ab") as f:
        f.write(json.dumps(huge).encode() + b"\n" + json.dumps(after).encode() + b"\n")
    async with LocalThreadStore(home) as store:
        report = await store.reindex()
        assert report.skipped_lines == 1
        items = (await store.load_history(LoadThreadHistoryParams(tid))).items
        assert [i["payload"].get("message") for i in items[1:]] == ["before", "after"]
        assert [item for _, _, item, _ in iter_lines(rollout)] == items
        listed = (await store.list_threads(ListThreadsParams())).items
        assert [t.thread_id for t in listed] == [tid]
        await store.resume_thread(ResumeThreadParams(thread_id=tid))
        await store.append_items(AppendThreadItemsParams(tid, [user_message("later")]))
        await store.shutdown_thread(tid)
        items = (await store.load_history(LoadThreadHistoryParams(tid))).items
        assert [i["payload"].get("message") for i in items[1:]] == ["before", "after", "later"]
