"""Cross-process single-writer locks: one ``flock`` per live thread.

A lock is an exclusive, non-blocking ``flock`` on ``<home>/.threadstore/locks/<id>.lock``. flock
locks belong to an open file description, so a second store — in another process or in this
one — fails to take the same lock, and the kernel releases it when the holder dies (a crashed
writer never blocks its thread forever). Lock files are unlinked on release; acquisition checks
that the locked file is still the one at the path, so an unlink racing with an acquire cannot
hand the same thread to two writers.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from threadstore._backends.local.files import WRITE_FLAGS
from threadstore.errors import Conflict, Internal

__all__ = ["ThreadLock"]


class ThreadLock:
    """A held writer lock; :meth:`release` gives it back (idempotent)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, locks_dir: Path, thread_id: str, busy: str = "already has a live writer") -> ThreadLock:
        """Take the lock of ``thread_id`` or raise ``Conflict`` (``thread <id> <busy> ...``) if
        another writer holds it."""
        path = locks_dir / f"{thread_id}.lock"
        for _ in range(16):
            try:
                locks_dir.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT | WRITE_FLAGS, 0o644)
            except OSError as exc:
                raise Internal(f"failed to open writer lock {path}: {exc}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise Conflict(f"thread {thread_id} {busy} (in another store or process)") from None
                raise Internal(f"failed to lock {path}: {exc}") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                # The file stays empty: with no data blocks, creating and unlinking it is cheap
                # (on a filesystem mounted with `discard`, freeing blocks is not).
                return cls(path, fd)
            os.close(fd)  # unlinked under us by a releasing holder: try again
        raise Internal(f"could not acquire writer lock {path}")

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        finally:
            os.close(fd)
