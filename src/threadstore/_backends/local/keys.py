"""Idempotency keys of the local store, kept beside each thread so that they survive restarts.

A thread's keys live in ``<home>/.threadstore/keys/<id>.jsonl``, one JSON line per keyed append:
``{"key", "digest", "offset", "length", "check"}``, where ``digest`` fingerprints the append's
items (:meth:`~threadstore._rollout.policy.PersistedItems.digest`) and ``offset``, ``length`` and
``check`` (a checksum) say which bytes of the rollout its lines became.

* A record is written *before* the append's lines. It counts only while the rollout holds exactly
  those bytes at that offset, which is checked when its key comes again: a record whose lines never
  reached the file (a crash between the two writes, a failed write undone) is ignored, so a key
  can never make a lost append look stored, and an append is stored once across restarts.
* The file is read once per writer, on the first keyed append; later records win. Lines that do
  not parse (a torn tail) are skipped.
* It is written with the store's rules: never through a symbolic link, synced with the rollout
  when the store syncs, removed with the thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Final, NamedTuple

from threadstore import _json
from threadstore._backends.local.files import WRITE_FLAGS, fsync_dir, os_error, write_all

__all__ = ["KeyLog", "keys_path"]

_CHECK_BYTES: Final = 16


def keys_path(private: Path, thread_id: str) -> Path:
    """Where the keys of ``thread_id`` live (``private`` is the home's ``.threadstore``)."""
    return private / "keys" / f"{thread_id}.jsonl"


def _check(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=_CHECK_BYTES).hexdigest()


class _Record(NamedTuple):
    digest: str
    offset: int
    length: int
    check: str


class KeyLog:
    """The keys of one thread (see the module documentation)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._records: dict[str, _Record] | None = None
        self._fd: int | None = None
        self._dir_synced = False

    def _load(self) -> dict[str, _Record]:
        if self._records is not None:
            return self._records
        records: dict[str, _Record] = {}
        try:
            fd = os.open(self.path, os.O_RDONLY | WRITE_FLAGS)
        except FileNotFoundError:
            fd = -1
        except OSError as exc:
            raise os_error("read", self.path, exc) from None
        if fd >= 0:
            with open(fd, "rb") as f:
                for raw in f:
                    record = _parse(raw)
                    if record is not None:
                        records[record[0]] = record[1]
        self._records = records
        return records

    def lookup(self, key: str, rollout: Path) -> str | None:
        """The digest recorded with ``key`` when the rollout holds the lines that record names;
        None otherwise."""
        record = self._load().get(key)
        if record is None:
            return None
        try:
            with open(rollout, "rb") as f:
                f.seek(record.offset)
                held = f.read(record.length)
        except OSError:
            return None
        return record.digest if len(held) == record.length and _check(held) == record.check else None

    def record(self, key: str, digest: str, offset: int, data: bytes) -> None:
        """Record that the append with ``key`` writes ``data`` at ``offset`` of the rollout
        (before it does: see the module documentation)."""
        records = self._load()
        entry = _Record(digest, offset, len(data), _check(data))
        line = _json.dumps(
            {"key": key, "digest": digest, "offset": offset, "length": entry.length, "check": entry.check}
        )
        try:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | WRITE_FLAGS, 0o644)
            write_all(self._fd, line + b"\n")
        except OSError as exc:
            raise os_error("write", self.path, exc) from None
        records[key] = entry

    def sync(self) -> None:
        """Make the records written so far durable (``OSError`` on failure)."""
        if self._fd is not None:
            os.fdatasync(self._fd)
            if not self._dir_synced:  # the file's name, once
                fsync_dir(self.path.parent)
                self._dir_synced = True

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def _parse(raw: bytes) -> tuple[str, _Record] | None:
    try:
        value = _json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    key, digest, offset, length, check = (value.get(k) for k in ("key", "digest", "offset", "length", "check"))
    if not (isinstance(key, str) and isinstance(digest, str) and isinstance(check, str)):
        return None
    if not (isinstance(offset, int) and isinstance(length, int) and offset >= 0 and length >= 0):
        return None
    return key, _Record(digest, offset, length, check)
