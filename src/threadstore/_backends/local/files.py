"""File-system primitives of the local store: whole writes, syncs, atomic replacement, and the
mapping of operating-system errors to store errors.

Durability rules used throughout the store: data is durable once ``fdatasync`` returned on its
file; a new name (a created or renamed file) is durable once ``fsync`` returned on its
directory. :func:`replace_file` gives both for a whole-file rewrite.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from threadstore.errors import Internal, InvalidRequest, ResourceExhausted, ThreadStoreError

__all__ = [
    "WRITE_FLAGS",
    "fsync_dir",
    "is_within",
    "map_os_error",
    "mtime_ns",
    "os_error",
    "replace_file",
    "stat_or_none",
    "write_all",
]

_FULL: frozenset[int] = frozenset({errno.ENOSPC, errno.EDQUOT})


def map_os_error(exc: OSError) -> ThreadStoreError:
    """The store error an OS error stands for: a full disk (or quota) and a file-size limit are
    ``ResourceExhausted``, anything else ``Internal``."""
    if exc.errno in _FULL:
        return ResourceExhausted(f"no space left on device: {exc}")
    if exc.errno == errno.EFBIG:
        return ResourceExhausted(f"file size limit reached: {exc}")
    return Internal(f"{type(exc).__name__}: {exc}")


def os_error(what: str, path: Path | str, exc: OSError) -> ThreadStoreError:
    """:func:`map_os_error` for a failed action on ``path``, with both named in the message (a
    symbolic link met where the store writes is ``InvalidRequest``: it never writes through one)."""
    if exc.errno == errno.ELOOP:
        return InvalidRequest(f"cannot {what} {path}: it is a symbolic link, and the store never writes through one")
    if exc.errno in _FULL:
        return ResourceExhausted(f"no space left on device while writing {path}")
    if exc.errno == errno.EFBIG:
        return ResourceExhausted(f"file size limit reached while writing {path}")
    return Internal(f"failed to {what} {path}: {exc}")


#: Flags of every descriptor the store writes through: never follow a link in the last component.
WRITE_FLAGS: int = os.O_CLOEXEC | os.O_NOFOLLOW


def is_within(path: Path | str, root: Path | str) -> bool:
    """Whether ``path`` lies inside ``root`` once every link on the way is resolved."""
    real = os.path.realpath(path)
    real_root = os.path.realpath(root)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` (``write(2)`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_dir(directory: Path | str) -> None:
    """Make the entries of ``directory`` (files created, renamed or removed in it) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably: a reader sees the old content or
    the new, never a mix, and after a crash the new content is there once this returned."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def stat_or_none(path: Path | str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def mtime_ns(path: Path | str) -> int | None:
    stat = stat_or_none(path)
    return stat.st_mtime_ns if stat else None
