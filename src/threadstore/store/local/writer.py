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
  killed). With ``fsync=True``, ``flush``/``persist``/shutdown also ``fsync`` the file and, after
  creating it, its directory (it survives power loss). The sync runs on the calling thread.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import Internal, ResourceExhausted
from ...items import Item
from ...policy import EventPersistenceMode
from ...timeutil import format_rfc3339, now_rfc3339, utc_now
from ..live import LiveWriter
from ..summary import ThreadSummary, search_texts
from .lock import ThreadLock
from .rollout import encode_line

if TYPE_CHECKING:
    from . import LocalThreadStore

__all__ = ["LocalWriter"]


def os_error(what: str, path: Path, exc: OSError) -> Exception:
    """Map an OS error to the store's error hierarchy."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ResourceExhausted(f"no space left on device while writing {path}")
    if exc.errno == errno.EFBIG:
        return ResourceExhausted(f"file size limit reached while writing {path}")
    return Internal(f"failed to {what} {path}: {exc}")


class LocalWriter(LiveWriter):
    def __init__(
        self,
        store: LocalThreadStore,
        thread_id: str,
        mode: EventPersistenceMode,
        path: Path,
        lock: ThreadLock,
        summary: ThreadSummary,
        *,
        meta: Item | None = None,
        collect_cwd: str | None = None,
        indexed: bool = True,
    ) -> None:
        super().__init__(thread_id, mode)
        self.store = store
        self.path = path
        self._lock = lock
        self.summary = summary
        self._meta = meta  # owed session_meta line of a new thread
        self._collect_cwd = collect_cwd  # collect git facts from here when materializing
        self._indexed = indexed  # report writes to the store's index
        self._fd: int | None = None
        self.size = 0
        self._needs_newline = False
        self._new_dirs: list[Path] = []
        self._created = False
        #: Message texts written since the index last took them.
        self.new_texts: list[str] = []
        self._recent_texts: list[str] = []

    # -- opening -------------------------------------------------------------------------------------

    @property
    def materialized(self) -> bool:
        return self._fd is not None

    def open_existing(self) -> None:
        """Open an existing rollout for appending (resume). Creates nothing."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        except OSError as exc:
            raise os_error("open", self.path, exc) from None
        self._adopt(fd)

    def _adopt(self, fd: int) -> None:
        self._fd = fd
        try:
            self.size = os.fstat(fd).st_size
            if self.size:
                with open(self.path, "rb") as f:
                    f.seek(self.size - 1)
                    self._needs_newline = f.read(1) != b"\n"
        except OSError as exc:
            os.close(fd)
            self._fd = None
            raise os_error("open", self.path, exc) from None

    def _materialize(self) -> int:
        if self._fd is not None:
            return self._fd
        meta = self._meta
        assert meta is not None
        if self._collect_cwd is not None and "git" not in meta["payload"]:
            from ...gitinfo import collect_git_info

            git = collect_git_info(self._collect_cwd)
            if git is not None:
                meta["payload"]["git"] = git.to_json()
        line = encode_line(meta, format_rfc3339(utc_now()), self.store.max_item_bytes)
        directory = self.path.parent
        missing: list[Path] = []
        probe = directory
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            before = os.stat(directory).st_mtime_ns
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            self.store._own_dir_change(directory, before, os.stat(directory).st_mtime_ns)
        except FileExistsError:
            raise Internal(f"rollout {self.path} already exists") from None
        except OSError as exc:
            raise os_error("create", self.path, exc) from None
        try:
            _write_all(fd, line)
        except OSError as exc:
            os.close(fd)
            _unlink_quietly(self.path)
            raise os_error("write", self.path, exc) from None
        self._fd = fd
        self.size = len(line)
        self._created = True
        self._new_dirs = list(dict.fromkeys([directory, *(m.parent for m in missing)]))
        self._meta = None
        self._fold([meta], format_rfc3339(utc_now()))
        if self._indexed:
            self.store._mark_dirty(self)
        return fd

    # -- LiveWriter ------------------------------------------------------------------------------------

    async def write(self, items: list[Item]) -> None:
        now = now_rfc3339()
        limit = self.store.max_item_bytes
        data = b"".join(encode_line(item, now, limit) for item in items)  # validates before any change
        fd = self._materialize()
        if self._needs_newline:
            data = b"\n" + data
        try:
            _write_all(fd, data)
        except OSError as exc:
            self._rollback(fd)
            raise os_error("write", self.path, exc) from None
        self.size += len(data)
        self._needs_newline = False
        self._fold(items, now)
        if self._indexed:
            self.store._mark_dirty(self)

    def _rollback(self, fd: int) -> None:
        try:
            os.ftruncate(fd, self.size)
        except OSError:
            # The partial line stays; make sure the next line does not continue it.
            self._needs_newline = True

    def _fold(self, items: list[Item], timestamp: str) -> None:
        for item in items:
            self.summary.add(item, item.get("timestamp") or timestamp)
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
        if fd is None or not self.store.fsync:
            return
        dirs, self._new_dirs = self._new_dirs, []
        try:
            # Inline on purpose: handing a sync to a worker thread costs about as much again as
            # the sync itself on a small machine (measured), and a flush must not return early.
            _sync(fd, dirs)
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
        self._lock.release()
        if self._indexed:
            self.store._writer_closed(self)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _sync(fd: int, dirs: list[Path]) -> None:
    os.fdatasync(fd)  # data and the metadata needed to read it (the size): enough for appends
    for directory in dirs:
        dfd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
