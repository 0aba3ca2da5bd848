"""Being told about changes to directories instead of looking: Linux inotify (used by the local
store's scanner, and by anything else that follows a Codex home).

The kernel queues an event for every entry created, removed or moved in a watched directory and
for every write to a file in it, in the system call that makes the change, before that call
returns to the program making it. So once a watch is on a directory, reading the queue before a
query sees every change any process completed before the query — the same guarantee as stat-ing
the directory, for one ``read`` instead of a ``stat`` per directory. The local store's scanner
(:mod:`threadstore._backends.local.scanner`) puts a watch on each directory *before* it lists or stats it. (A directory's
first watch costs the kernel tens of microseconds — hundreds of directories, milliseconds — so
the scanner first has them watched on a thread (:meth:`Watcher.arm`) and relies on the watches
only after its next walk of the whole tree, which watches each directory again before stat-ing
it, cheaply.)

What the kernel does not report, and what then happens:

* changes made by another machine or behind the kernel's back (a home on a network or FUSE file
  system): not reported, so no watcher is used there (:func:`open_watcher`); and until a whole
  sweep has passed since the watches were set (appends made while no store watched) the
  scanner's round-robin sweep and its check of the rows a page returns still run, the latter
  always for rollouts outside the watched tree;
* a full queue (``IN_Q_OVERFLOW``): :meth:`Watcher.changes` returns None and the scanner looks at
  everything again, stat by stat, and sweeps anew;
* no inotify (another system, a network file system, ``THREADSTORE_NO_WATCH=1``, the instance
  or watch limits of the user reached): :func:`open_watcher` returns None, or
  :attr:`Watcher.healthy` turns false, and the scanner stats every directory on every query.

A watcher belongs to the process that opened it (a forked child would share its queue and
steal its events): in another process it reports itself unhealthy.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import struct
import sys
import threading
from dataclasses import dataclass, field
from typing import Final

__all__ = ["Changes", "Watcher", "open_watcher"]

_IN_MODIFY: Final = 0x00000002
_IN_ATTRIB: Final = 0x00000004
_IN_CLOSE_WRITE: Final = 0x00000008
_IN_MOVED_FROM: Final = 0x00000040
_IN_MOVED_TO: Final = 0x00000080
_IN_CREATE: Final = 0x00000100
_IN_DELETE: Final = 0x00000200
_IN_DELETE_SELF: Final = 0x00000400
_IN_MOVE_SELF: Final = 0x00000800
_IN_Q_OVERFLOW: Final = 0x00004000
_IN_IGNORED: Final = 0x00008000
_IN_ONLYDIR: Final = 0x01000000
_IN_DONT_FOLLOW: Final = 0x02000000
_IN_EXCL_UNLINK: Final = 0x04000000

_FILE_EVENTS: Final = _IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE
_ENTRY_EVENTS: Final = _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE
_SELF_EVENTS: Final = _IN_DELETE_SELF | _IN_MOVE_SELF
_MASK: Final = _FILE_EVENTS | _ENTRY_EVENTS | _SELF_EVENTS | _IN_ONLYDIR | _IN_DONT_FOLLOW | _IN_EXCL_UNLINK
_HEADER: Final = struct.Struct("iIII")


@dataclass
class Changes:
    """What changed since the last look: directories whose entries changed (something created,
    removed or moved in or out; a directory that itself went away counts as a change of its
    parent) and files written to."""

    directories: set[str] = field(default_factory=set)
    files: set[str] = field(default_factory=set)


class Watcher:
    """An inotify instance and its watches (see the module documentation)."""

    def __init__(self, libc: ctypes.CDLL, fd: int) -> None:
        self._libc = libc
        self._fd = fd
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._paths: dict[int, str] = {}
        self._watches: dict[str, int] = {}
        self._broken = False
        self._arming: threading.Thread | None = None

    @property
    def healthy(self) -> bool:
        """Whether every change is reported (False: watch limit reached, closed, forked)."""
        return not self._broken and self._fd >= 0 and os.getpid() == self._pid

    def watch(self, directory: str) -> bool:
        """Watch ``directory`` (again: the same watch). False when it cannot be watched: gone,
        or the limit of watches reached (then the watcher is no longer healthy)."""
        if not self.healthy:
            return False
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(directory), _MASK)
        if wd < 0:
            code = ctypes.get_errno()
            if code not in (errno.ENOENT, errno.ENOTDIR, errno.EACCES):
                self._broken = True  # ENOSPC (the limit of watches), ENOMEM, ...
            return False
        with self._lock:
            old = self._paths.get(wd)
            if old is not None and old != directory:
                self._watches.pop(old, None)
            self._paths[wd] = directory
            self._watches[directory] = wd
        return True

    def arm(self, directories: list[str]) -> None:
        """Watch ``directories`` on a thread of its own: the first watch on a directory costs
        the kernel tens of microseconds (later ones, a few), too much for a query to wait.
        :attr:`armed` tells when it is done."""
        self._arming = threading.Thread(target=self._arm, args=(directories,), name="threadstore-watch", daemon=True)
        self._arming.start()

    def _arm(self, directories: list[str]) -> None:
        for directory in directories:
            self.watch(directory)

    @property
    def arming(self) -> bool:
        """Whether :meth:`arm` was called."""
        return self._arming is not None

    @property
    def armed(self) -> bool:
        """Whether what :meth:`arm` was given is watched."""
        return self._arming is not None and not self._arming.is_alive()

    def fileno(self) -> int:
        """The inotify descriptor: readable when changes are queued (for an event loop's
        ``add_reader``; read them with :meth:`changes`). -1 once closed."""
        return self._fd

    def watching(self, directory: str) -> bool:
        return directory in self._watches  # (one dict lookup: safe while another thread adds)

    def changes(self) -> Changes | None:
        """Everything reported since the last call; None when the kernel's queue overflowed
        (anything may have changed) or the watcher is not healthy."""
        if not self.healthy:
            return None
        changes = Changes()
        overflow = False
        while True:
            try:
                data = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                break
            except OSError:
                self._broken = True
                return None
            offset = 0
            while offset + _HEADER.size <= len(data):
                wd, mask, _, length = _HEADER.unpack_from(data, offset)
                offset += _HEADER.size
                name = data[offset : offset + length].rstrip(b"\0")
                offset += length
                if mask & _IN_Q_OVERFLOW:
                    overflow = True
                    continue
                with self._lock:
                    directory = self._paths.get(wd)
                    if directory is not None and mask & _IN_IGNORED:
                        del self._paths[wd]
                        if self._watches.get(directory) == wd:
                            del self._watches[directory]
                        continue
                if directory is None:
                    continue
                if mask & _SELF_EVENTS:
                    changes.directories.add(os.path.dirname(directory))
                elif mask & _ENTRY_EVENTS:
                    changes.directories.add(directory)
                elif name:
                    changes.files.add(os.path.join(directory, os.fsdecode(name)))
        return None if overflow else changes

    def close(self) -> None:
        if self._arming is not None:
            self._arming.join()
        fd, self._fd = self._fd, -1
        if fd >= 0 and os.getpid() == self._pid:
            with contextlib.suppress(OSError):
                os.close(fd)


#: File systems whose changes may come from elsewhere than this kernel (other machines, a FUSE
#: daemon's backend): inotify would not report those.
_REMOTE_FILE_SYSTEMS: Final = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "lustre", "gpfs", "afs", "ncpfs", "beegfs"}
)


def file_system_type(path: str) -> str | None:
    """The type of the file system ``path`` lies on (``/proc/mounts``; None when unknown)."""
    path = os.path.realpath(path)
    best, kind = "", None
    try:
        with open("/proc/mounts", encoding="utf-8", errors="replace") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) < 3:
                    continue
                point = fields[1].replace("\\040", " ")
                inside = path == point or path.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best, kind = point, fields[2]
    except OSError:
        return None
    return kind


def open_watcher(home: str) -> Watcher | None:
    """A watcher for the home at ``home``, or None where inotify is not available, would not
    see every change (a network or FUSE file system), or ``THREADSTORE_NO_WATCH`` is set."""
    if not sys.platform.startswith("linux") or os.environ.get("THREADSTORE_NO_WATCH"):
        return None
    kind = file_system_type(home)
    if kind is None or kind in _REMOTE_FILE_SYSTEMS or kind.startswith("fuse"):
        return None
    try:
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
        except OSError:  # another C library (musl); finding it runs a program: only then
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    except (OSError, AttributeError):
        return None
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        return None  # the limit of inotify instances of the user, say
    return Watcher(libc, fd)
