"""The live writer of one local thread: appends rollout lines to a JSONL file.

Contract:
* Lazy: a new thread's file (and its ``session_meta`` line) is created by the first persisted
  item, ``persist``, or a flush/shutdown with something pending — never earlier.
* Atomic appends: all lines of one ``write`` go to the file in one ``write(2)`` call on an
  ``O_APPEND`` descriptor; if that fails (disk full, I/O error) the file is truncated back to
  where it was, the error is raised and nothing of that call remains.
* Never onto a torn line: when the file does not end with a newline (a crash mid-line, NUL
  padding after power loss), a newline is written before the first new line.
* Durability: data is handed to the OS before ``write`` returns (it survives the process being
  killed). With ``fsync=True``, ``flush``/``persist``/shutdown also ``fdatasync`` the file and,
  after creating it, ``fsync`` its new directories (it survives power loss). The sync runs on
  the calling thread: handing it to a worker costs about as much again on a small machine.

Idempotency keys are kept beside the thread (:mod:`.keys`): a keyed append's record is written
just before its lines, and synced with them.

What a writer did is reported to :class:`WriterEvents` (the catalog, which keeps the index in
step without reading the file back). A live writer holds its thread's lock and releases it when
it closes; a one-off writer for a cold thread runs under a lock its caller holds (``lock=None``)
and reports nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from threadstore._backends.local.files import WRITE_FLAGS, fsync_dir, is_within, os_error, write_all
from threadstore._backends.local.keys import KeyLog
from threadstore._backends.local.lock import ThreadLock
from threadstore._backends.local.rollout import history_base
from threadstore._backends.shared.live import LiveWriter
from threadstore._contract.first_line import adopt_first_line, opens_paginated
from threadstore._rollout import forks
from threadstore._rollout.edits import is_edit
from threadstore._rollout.items import Item
from threadstore._rollout.jsonl import encode_line
from threadstore._rollout.messages import search_texts
from threadstore._rollout.policy import EventPersistenceMode
from threadstore._rollout.summary import ThreadSummary
from threadstore._time import format_rfc3339, now_rfc3339, utc_now
from threadstore.errors import Internal, InvalidRequest

__all__ = ["LocalWriter", "WriterEvents", "WriterOptions"]


class WriterEvents(Protocol):
    """Who learns what a writer did (the catalog)."""

    def dir_changed(self, directory: Path, before_ns: int | None, after_ns: int | None) -> None:
        """The writer created a file in ``directory`` (its mtime went from ``before_ns``)."""

    def written(self, writer: LocalWriter) -> None:
        """The writer appended lines (its summary and ``new_texts`` say what)."""

    def closed(self, writer: LocalWriter) -> None:
        """The writer closed (shut down or discarded)."""

    def parent_lines(self, thread_id: str) -> tuple[list[Item], list[str | None]] | None:
        """A thread's stored lines (what a fork by reference inherits from), if it is known."""

    def find_path(self, thread_id: str) -> Path | None:
        """A thread's rollout file, if it is known."""


@dataclass(frozen=True, slots=True)
class WriterOptions:
    """Settings a writer takes from its store. ``home``: a writer confined to it refuses to
    write a file that a link places outside it. ``sync_off_loop``: a sync (``fsync=True``) runs
    on a worker thread while the event loop goes on (a store run for a server: other clients
    never wait for one writer's disk)."""

    fsync: bool
    max_item_bytes: int
    home: Path
    sync_off_loop: bool = False


class LocalWriter(LiveWriter):
    def __init__(
        self,
        thread_id: str,
        mode: EventPersistenceMode,
        path: Path,
        lock: ThreadLock | None,
        summary: ThreadSummary,
        options: WriterOptions,
        events: WriterEvents | None,
        *,
        meta: Item | None = None,
        confined: bool = True,
        keys: KeyLog | None = None,
    ) -> None:
        super().__init__(thread_id, mode)
        self.path = path
        self._key_log = keys
        self._lock = lock
        self.summary = summary
        self._options = options
        self._events = events
        self._meta = meta  # owed session_meta line of a new thread
        #: False only for a rollout the caller named outside the home (an explicit resume path).
        self._confined = confined
        self._fd: int | None = None
        self.size = 0
        self._needs_newline = False
        self._new_dirs: list[Path] = []
        #: Message texts written since the index last took them.
        self.new_texts: list[str] = []
        #: Set when a history edit was written: the index takes the thread's texts again from
        #: the file (the edit may have taken some away), then calls :meth:`texts_taken`.
        self.texts_edited = False
        self._recent_texts: list[str] = []

    # -- opening ---------------------------------------------------------------------------------

    @property
    def materialized(self) -> bool:
        return self._fd is not None

    @property
    def lines_so_far(self) -> ThreadSummary:
        return self.summary

    def _check_confined(self, directory: Path) -> None:
        if self._confined and not is_within(directory, self._options.home):
            raise InvalidRequest(
                f"cannot write {self.path}: a symbolic link leads it out of the home {self._options.home}"
            )

    def open_existing(self) -> None:
        """Open an existing rollout for appending (resume). Creates nothing."""
        self._check_confined(self.path.parent)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | WRITE_FLAGS)
        except OSError as exc:
            raise os_error("open", self.path, exc) from None
        self._fd = fd
        try:
            self.size = os.fstat(fd).st_size
            if self.size:
                with open(self.path, "rb") as f:  # the append descriptor cannot read
                    f.seek(self.size - 1)
                    self._needs_newline = f.read(1) != b"\n"
        except OSError as exc:
            self._fd = None
            os.close(fd)
            raise os_error("open", self.path, exc) from None

    def _materialize(self) -> int:
        if self._fd is not None:
            return self._fd
        meta = self._meta
        assert meta is not None
        line = encode_line(meta, format_rfc3339(utc_now()), self._options.max_item_bytes)
        directory = self.path.parent
        missing: list[Path] = []
        probe = directory
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._check_confined(directory)
            before = os.stat(directory).st_mtime_ns
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | WRITE_FLAGS, 0o644)
            after = os.stat(directory).st_mtime_ns
        except FileExistsError:
            raise Internal(f"rollout {self.path} already exists") from None
        except OSError as exc:
            raise os_error("create", self.path, exc) from None
        try:
            write_all(fd, line)
        except OSError as exc:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            raise os_error("write", self.path, exc) from None
        self._fd = fd
        self.size = len(line)
        self._new_dirs = list(dict.fromkeys([directory, *(m.parent for m in missing)]))
        self._meta = None
        stamp = format_rfc3339(utc_now())
        self._fold([meta], stamp)
        if self._events is not None:
            # A fork by reference is described (and found by search) through its parent's lines too.
            own = meta.get("timestamp")
            for item, inherited in forks.inherited(
                meta, own if isinstance(own, str) else stamp, self._events.parent_lines
            ):
                self._fold([item], inherited or stamp)
            self._events.dir_changed(directory, before, after)
            self._events.written(self)
        return fd

    # -- LiveWriter ------------------------------------------------------------------------------

    def prepared(self, items: list[Item]) -> list[Item]:
        """Numbered lines. The first line of a new paginated fork by reference that does not say
        where it cuts its parent's file also gets the ``history_base`` Codex 0.169 resumes it by
        (that era always writes one), when this store has the parent's file; any other line is
        kept as given."""
        lines = super().prepared(items)
        if self._fd is None and lines and self._events is not None:
            first = lines[0]
            reference = forks.fork_reference([first])
            if (
                reference is not None
                and opens_paginated(first, self.thread_id)
                and "history_base" not in first["payload"]
            ):
                parent = self._events.find_path(reference[0])
                base = history_base(parent, *reference) if parent is not None else None
                if base is not None:
                    lines = [{**first, "payload": {**first["payload"], "history_base": base}}, *lines[1:]]
        return lines

    async def applied(self, idempotency_key: str) -> str | None:
        if self._key_log is None:
            return await super().applied(idempotency_key)
        return self._key_log.lookup(idempotency_key, self.path)

    async def write_once(self, items: list[Item], idempotency_key: str, digest: str) -> str | None:
        if self._key_log is None:
            return await super().write_once(items, idempotency_key, digest)
        await self._write(items, (idempotency_key, digest))
        return None

    async def write(self, items: list[Item]) -> None:
        await self._write(items, None)

    async def _write(self, items: list[Item], key: tuple[str, str] | None) -> None:
        now = now_rfc3339()
        limit = self._options.max_item_bytes
        meta = self._meta
        if self._fd is None and meta is not None:
            meta, items = adopt_first_line(meta, items, self.thread_id)
            if meta is not self._meta:
                encode_line(meta, now, limit)  # an adopted first line is checked like any other
        data = b"".join(encode_line(item, now, limit) for item in items)  # validates before any change
        self._meta = meta
        fd = self._materialize()
        if not data:
            return
        if self._needs_newline:
            data = b"\n" + data
        if key is not None and self._key_log is not None:
            self._key_log.record(key[0], key[1], self.size, data)
        try:
            write_all(fd, data)
        except OSError as exc:
            self._rollback(fd)
            raise os_error("write", self.path, exc) from None
        self.size += len(data)
        self._needs_newline = False
        self._fold(items, now)
        if self._events is not None:
            self._events.written(self)

    def _rollback(self, fd: int) -> None:
        try:
            os.ftruncate(fd, self.size)
        except OSError:
            # The partial line stays; make sure the next line does not continue it.
            self._needs_newline = True

    def texts_taken(self, recent: list[str]) -> None:
        """The index read the thread's texts again after an edit; ``recent`` are its last ones."""
        self.texts_edited = False
        self.new_texts = []
        self._recent_texts = recent[-4:]

    def _fold(self, items: list[Item], timestamp: str) -> None:
        for item in items:
            self.summary.add(item, timestamp)
            if is_edit(item):
                self.texts_edited = True
            for text in search_texts(item):
                if text not in self._recent_texts:
                    self.new_texts.append(text)
                    self._recent_texts.append(text)
                    del self._recent_texts[:-4]

    async def persist(self) -> None:
        self._materialize()
        await self.flush()

    async def flush(self) -> None:
        fd = self._fd
        if fd is None or not self._options.fsync:
            return
        dirs, self._new_dirs = self._new_dirs, []
        try:
            if self._options.sync_off_loop:
                await asyncio.to_thread(_sync, fd, dirs, self._key_log)
            else:
                _sync(fd, dirs, self._key_log)
        except OSError as exc:
            self._new_dirs = dirs
            raise os_error("sync", self.path, exc) from None

    async def close(self) -> None:
        self._release()

    async def abandon(self) -> None:
        self._meta = None
        self._release()

    def _release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._key_log is not None:
            self._key_log.close()
        if self._lock is not None:
            self._lock.release()
        if self._events is not None:
            self._events.closed(self)


def _sync(fd: int, directories: list[Path], keys: KeyLog | None) -> None:
    if keys is not None:
        keys.sync()
    os.fdatasync(fd)  # data and the metadata needed to read it (the size): enough for appends
    for directory in directories:
        fsync_dir(directory)
