"""Worker processes that read rollouts for the background fill (:mod:`.fill`).

Reading a rollout into its index row is Python work (JSON, the summary fold, composing the
thread), so a large fill runs it in other processes while its own thread only writes rows. A
worker is ``python -m threadstore.store.local.workers DEFAULT_PROVIDER``, started with this
process's interpreter and this package's location on its path (not ``multiprocessing``, which
would import the caller's ``__main__`` again). It reads requests on stdin and writes answers on
stdout, each frame a length-prefixed pickle, answers in request order; it holds one rollout at a
time (files are read in bounded chunks, :mod:`.extract`) and exits at end of input, which is
also what happens when its parent dies. It ignores Ctrl-C: its parent stops it.

A request is a batch of :class:`Job`; the answer has one :data:`Result` per job: a
:class:`~.index.NewRow`, or ``("fork", path)`` for a rollout that forks by reference (only the
index can find its parent: the parent process reads it), or ``("error", path)`` for a file that
could not be read. :func:`build_row` is the same function run in-process when no worker is used.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any, Final, NamedTuple

from ...errors import Internal, InvalidRequest
from ..patch import ThreadMetadataPatch
from .extract import ForkReference, compose_thread, read_facts
from .index.rows import NewRow, row_values

__all__ = ["Job", "Result", "Worker", "build_row", "build_rows"]

_HEADER: Final = struct.Struct("<Q")


class Job(NamedTuple):
    """One rollout to read: where, whose, in which collection, with the name and overrides the
    index holds for it (``overrides``: the patch's JSON, None when there is none)."""

    path: str
    thread_id: str
    archived: bool
    name_entry: str | None
    overrides: dict[str, Any] | None


Result = NewRow | tuple[str, str]


def build_row(job: Job, default_provider: str) -> Result:
    """The index row of one rollout (see the module documentation for the other answers)."""
    try:
        facts = read_facts(Path(job.path), job.thread_id)
    except ForkReference:
        return ("fork", job.path)
    except (InvalidRequest, Internal):
        return ("error", job.path)
    overrides = ThreadMetadataPatch.from_json(job.overrides) if job.overrides is not None else None
    thread = compose_thread(
        job.thread_id,
        job.path,
        facts.summary,
        facts.stat,
        archived=job.archived,
        name_entry=job.name_entry,
        overrides=overrides,
        default_provider=default_provider,
    )
    values = row_values(
        thread,
        facts.summary,
        path=job.path,
        archived=job.archived,
        file_size=facts.end_offset,
        mtime_ns=facts.stat.st_mtime_ns,
        ino=facts.stat.st_ino,
    )
    return NewRow(job.thread_id, values, facts.texts, facts.skipped)


def build_rows(jobs: list[Job], default_provider: str) -> list[Result]:
    return [build_row(job, default_provider) for job in jobs]


def _write_frame(fd: int, value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, size: int) -> bytes | None:
    parts: list[bytes] = []
    while size:
        data = os.read(fd, min(size, 1 << 20))
        if not data:
            return None
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


def _read_frame(fd: int) -> Any:
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        raise EOFError
    data = _read_exact(fd, _HEADER.unpack(header)[0])
    if data is None:
        raise EOFError
    return pickle.loads(data)


class Worker:
    """One worker process (see the module documentation). Raises ``OSError`` when it cannot be
    started; :meth:`receive` raises ``EOFError`` when it died."""

    def __init__(self, default_provider: str) -> None:
        package_root = str(Path(__file__).resolve().parents[3])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, default_provider],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._in = self._proc.stdin.fileno()
        self._out = self._proc.stdout.fileno()
        #: Requests sent and not answered yet, oldest first.
        self.pending: list[Any] = []

    def fileno(self) -> int:
        return self._out

    def send(self, tag: Any, jobs: list[Job]) -> None:
        _write_frame(self._in, jobs)
        self.pending.append(tag)

    def receive(self) -> tuple[Any, list[Result]]:
        """The oldest pending request's tag and its results (blocks until they came)."""
        results = _read_frame(self._out)
        return self.pending.pop(0), results

    def close(self) -> None:
        proc = self._proc
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    default_provider = sys.argv[1] if len(sys.argv) > 1 else ""
    stdin, stdout = sys.stdin.buffer.fileno(), sys.stdout.buffer.fileno()
    while True:
        try:
            jobs = _read_frame(stdin)
        except EOFError:
            return
        try:
            _write_frame(stdout, build_rows(jobs, default_provider))
        except BrokenPipeError:
            return


if __name__ == "__main__":
    main()
