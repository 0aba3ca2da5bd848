"""``session_index.jsonl``: the append-only name index of a Codex home.

Each line is ``{"id", "thread_name", "updated_at"}``; the newest entry for an id wins and an empty
name means "cleared". Appends are fsynced. Removing an id's entries (on delete) rewrites the
file atomically (temporary file, fsync, rename) under a lock shared by our processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from threadstore import _json
from threadstore._backends.local.files import WRITE_FLAGS, os_error, replace_file, write_all
from threadstore._rollout.session_index import parse_names
from threadstore._time import utc_now
from threadstore.errors import Internal

__all__ = ["append_name", "read_bytes_at", "read_names", "remove_names"]


def read_names(path: Path, offset: int = 0) -> tuple[dict[str, str], int]:
    """Names from ``offset`` on (id → latest name; "" = cleared) and the offset after the last
    complete line. A file shorter than ``offset`` was rewritten: read it from the start."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < offset:
                offset = 0
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return {}, 0
    except OSError as exc:
        raise Internal(f"failed to read {path}: {exc}") from None
    end = data.rfind(b"\n") + 1
    names = parse_names(data[:end])
    return names, offset + end


def read_bytes_at(path: Path, offset: int, size: int) -> bytes:
    """``size`` bytes of ``path`` from ``offset`` (fewer at the end of the file; none if missing)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, offset))
            return f.read(max(0, size))
    except OSError:
        return b""


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock_path = path.with_name(".session_index.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | WRITE_FLAGS, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def append_name(path: Path, thread_id: str, name: str | None) -> None:
    """Append the entry naming ``thread_id`` (``None`` clears the name) and fsync it."""
    line = _json.dumps(
        {"id": thread_id, "thread_name": name or "", "updated_at": utc_now().isoformat().replace("+00:00", "Z")}
    )
    try:
        with _locked(path):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | WRITE_FLAGS, 0o644)
            try:
                size = os.fstat(fd).st_size
                prefix = b""
                if size:
                    with open(path, "rb") as f:
                        f.seek(size - 1)
                        if f.read(1) != b"\n":
                            prefix = b"\n"
                write_all(fd, prefix + line + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError as exc:
        raise os_error("write", path, exc) from None


def remove_names(path: Path, thread_id: str) -> None:
    """Remove every entry of ``thread_id`` (atomic rewrite; a missing file is fine)."""
    marker = thread_id.encode()
    try:
        with _locked(path):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                return
            lines = data.split(b"\n")
            kept = [line for line in lines if marker not in line]
            if len(kept) == len(lines):
                return
            replace_file(path, b"\n".join(kept))
    except OSError as exc:
        raise os_error("write", path, exc) from None
