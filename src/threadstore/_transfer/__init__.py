"""Moving threads between stores and files, exactly: copies between backends, exports and
imports (:mod:`.record` says what a thread carries, :mod:`.copy` how it is written)."""

from __future__ import annotations

from threadstore._transfer.copy import CopyOutcome, CopyReport, copy_thread, copy_threads, write_record
from threadstore._transfer.record import (
    RECORD_FORMAT,
    ThreadRecord,
    is_listed,
    read_record,
    record_from_bytes,
    record_from_file,
    record_from_json,
    record_to_json,
    rollout_bytes,
)

__all__ = [
    "RECORD_FORMAT",
    "CopyOutcome",
    "CopyReport",
    "ThreadRecord",
    "copy_thread",
    "copy_threads",
    "is_listed",
    "read_record",
    "record_from_bytes",
    "record_from_file",
    "record_from_json",
    "record_to_json",
    "rollout_bytes",
    "write_record",
]
