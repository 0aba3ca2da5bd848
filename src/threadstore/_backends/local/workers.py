"""Reading rollouts into index rows, in worker processes for the background fill (:mod:`.fill`).

Reading a rollout into its row is Python work (JSON, the summary fold, composing the thread), so
a large fill runs it in other processes while its own thread writes rows. A worker is ``python
-m threadstore._backends.local.workers DEFAULT_PROVIDER``, started with this process's interpreter
and this package's location on its path (not ``multiprocessing``, which would run the caller's
``__main__`` again). It says it is ready once its imports are done, then reads requests on stdin
and writes answers on stdout in request order, each frame a length-prefixed pickle. It holds one
rollout at a time (files are read in bounded chunks, :mod:`.extract`), exits at the end of its
input — which is also what happens when its parent dies — and ignores Ctrl-C (its parent stops
it).

A request is a list of :class:`Job`; the answer has one :data:`Result` per job: a
:class:`~.index.NewRow`, ``("fork", path)`` for a rollout that forks by reference (only the
index finds its parent: the fill reads it itself), or ``("error", path)`` for a file that could
not be read. :func:`build_row` is the same function run in the fill's thread when no worker is.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import selectors
import signal
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from threadstore._backends.local.extract import Facts, ForkReference, compose_thread, read_facts
from threadstore._backends.local.index.rows import NewRow, row_values
from threadstore._contract.patch import ThreadMetadataPatch
from threadstore._rollout.summary import ThreadSummary
from threadstore.errors import Internal, InvalidRequest

if TYPE_CHECKING:
    from threadstore._backends.local.index.index import Index

__all__ = ["Job", "Pool", "Result", "Worker", "build_row", "fork_row", "recompose", "row_of", "with_current_names"]

_log: Final = logging.getLogger("threadstore.local")
_HEADER: Final = struct.Struct("<Q")
_READY: Final = "ready"


class Job(NamedTuple):
    """One rollout to read: where, whose, in which collection, with the name and overrides the
    index holds for it (``overrides``: the patch's JSON, None when there is none)."""

    path: str
    thread_id: str
    archived: bool
    name_entry: str | None
    overrides: dict[str, Any] | None


Result = NewRow | tuple[str, str]


def row_of(
    job: Job,
    summary: ThreadSummary,
    texts: list[str],
    stat: os.stat_result | None,
    *,
    file_size: int,
    skipped: int,
    default_provider: str,
) -> NewRow:
    """The row of ``job``'s rollout, given what was read from it."""
    overrides = ThreadMetadataPatch.from_json(job.overrides) if job.overrides is not None else None
    thread = compose_thread(
        job.thread_id,
        job.path,
        summary,
        stat,
        archived=job.archived,
        name_entry=job.name_entry,
        overrides=overrides,
        default_provider=default_provider,
    )
    values = row_values(
        thread,
        summary,
        path=job.path,
        archived=job.archived,
        file_size=file_size,
        mtime_ns=stat.st_mtime_ns if stat else 0,
        ino=stat.st_ino if stat else 0,
    )
    return NewRow(job.thread_id, values, texts, skipped)


def _row_of_facts(job: Job, facts: Facts, default_provider: str) -> NewRow:
    return row_of(
        job,
        facts.summary,
        facts.texts,
        facts.stat,
        file_size=facts.end_offset,
        skipped=facts.skipped,
        default_provider=default_provider,
    )


def build_row(job: Job, default_provider: str) -> Result:
    """The index row of one rollout (see the module documentation for the other answers)."""
    try:
        facts = read_facts(job.path, job.thread_id)
    except ForkReference:
        return ("fork", job.path)
    except (InvalidRequest, Internal):
        return ("error", job.path)
    return _row_of_facts(job, facts, default_provider)


def fork_row(job: Job, find_path: Callable[[str], Path | None], default_provider: str) -> NewRow | None:
    """The row of a rollout that forks by reference, its parent's lines found through
    ``find_path`` (None when it cannot be read)."""
    try:
        facts = read_facts(job.path, job.thread_id, None, find_path)
    except (ForkReference, InvalidRequest, Internal):
        return None
    return _row_of_facts(job, facts, default_provider)


def recompose(row: NewRow, job: Job, default_provider: str) -> NewRow:
    """``row`` composed again with the name and overrides of ``job`` (its file state kept)."""
    size, mtime_ns, ino = row.values[-3:]
    try:
        stat: os.stat_result | None = os.stat(job.path)
    except OSError:
        stat = None
    again = row_of(
        job, row.summary(), row.texts, stat, file_size=size, skipped=row.skipped, default_provider=default_provider
    )
    return again._replace(values=(*again.values[:-2], mtime_ns, ino))


def _write_frame(fd: int, value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, size: int) -> bytes:
    parts: list[bytes] = []
    while size:
        data = os.read(fd, min(size, 1 << 20))
        if not data:
            raise EOFError
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


def _read_frame(fd: int) -> Any:
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size))
    return pickle.loads(_read_exact(fd, size))


class Worker:
    """One worker process. Raises ``OSError`` when it cannot be started; :meth:`receive` raises
    ``EOFError`` (or ``OSError``) when it died."""

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
        )
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._in = self._proc.stdin.fileno()
        self._out = self._proc.stdout.fileno()
        self.ready = False
        #: Requests sent and not answered yet, oldest first: (tag, jobs).
        self.pending: list[tuple[Any, list[Job]]] = []

    def fileno(self) -> int:
        return self._out

    def send(self, tag: Any, jobs: list[Job]) -> None:
        _write_frame(self._in, jobs)
        self.pending.append((tag, jobs))

    def receive(self) -> tuple[Any, list[Result]] | None:
        """The oldest request's tag and its results (blocks until they came); None for the
        worker's word that it is ready."""
        message = _read_frame(self._out)
        if message == _READY:
            self.ready = True
            return None
        tag, _ = self.pending.pop(0)
        return tag, message

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


class Pool:
    """The fill's workers: each gets up to two requests at a time (requests are small, so
    sending never blocks on a worker busy writing its answer)."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        #: Requests of workers that died, for someone else to do: (tag, jobs).
        self.orphans: list[tuple[Any, list[Job]]] = []
        self._selector = selectors.DefaultSelector()
        for worker in workers:
            self._selector.register(worker, selectors.EVENT_READ, worker)

    @classmethod
    def start(cls, count: int, default_provider: str) -> Pool | None:
        """Up to ``count`` workers starting, no more than the cores this process may use (None
        on a single core, where workers would only take turns with the fill's thread, or when
        not even one could be started)."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if cores < 2:
            return None
        workers: list[Worker] = []
        count = min(count, cores)
        for _ in range(count):
            try:
                workers.append(Worker(default_provider))
            except OSError as exc:
                _log.info("indexing without worker processes: %s", exc)
                break
        return cls(workers) if workers else None

    @property
    def ready(self) -> bool:
        """Every worker finished starting (so far: answers it sent are read by :meth:`answers`)."""
        return bool(self.workers) and all(w.ready for w in self.workers)

    def idle(self) -> Iterator[Worker]:
        """Workers that can take a request now."""
        return (w for w in self.workers if len(w.pending) < 2)

    @property
    def busy(self) -> bool:
        return any(w.pending for w in self.workers)

    def answers(self, timeout: float) -> list[tuple[Any, list[Result]]]:
        """The answers that came within ``timeout`` seconds, as (tag, results). A worker that
        died leaves the pool, its unanswered requests in :attr:`orphans`."""
        found: list[tuple[Any, list[Result]]] = []
        for key, _ in self._selector.select(timeout=timeout):
            worker = key.data
            try:
                answer = worker.receive()
            except (EOFError, OSError):
                self._drop(worker)
                continue
            if answer is not None:
                found.append(answer)
        return found

    def _drop(self, worker: Worker) -> None:
        self._selector.unregister(worker)
        self.workers.remove(worker)
        self.orphans.extend(worker.pending)
        worker.pending.clear()
        worker.close()

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        self.workers.clear()
        self._selector.close()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    default_provider = sys.argv[1] if len(sys.argv) > 1 else ""
    stdin, stdout = sys.stdin.buffer.fileno(), sys.stdout.buffer.fileno()
    try:
        _write_frame(stdout, _READY)
        while True:
            try:
                jobs = _read_frame(stdin)
            except EOFError:
                return
            _write_frame(stdout, [build_row(job, default_provider) for job in jobs])
    except BrokenPipeError:
        return


if __name__ == "__main__":
    main()


def with_current_names(index: Index, rows: list[NewRow], jobs: dict[str, Job], default_provider: str) -> list[NewRow]:
    """``rows``, each composed again when its name or overrides changed in ``index`` since it was
    built from its job (``jobs``: path → job)."""
    ids = [r.thread_id for r in rows]
    names, overrides = index.names_of(ids), index.overrides_of(ids)
    fresh: list[NewRow] = []
    for row in rows:
        job = jobs[row.path]
        name, patch = names.get(row.thread_id), overrides.get(row.thread_id)
        if name == job.name_entry and patch == job.overrides:
            fresh.append(row)
        else:
            fresh.append(recompose(row, job._replace(name_entry=name, overrides=patch), default_provider))
    return fresh
