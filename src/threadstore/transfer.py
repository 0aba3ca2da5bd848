"""Moving threads between stores and files, exactly: copies between backends (the engine of
``threadstore copy``), exports and imports of rollouts and thread JSON files, and a thread put
back into a Codex home (``threadstore checkout``).

Every line comes back with the same JSON bytes, and a thread keeps its creation and update
times, name and archived state; what could not be kept is reported, never dropped silently."""

from __future__ import annotations

from threadstore._transfer.checkout import CheckoutOutcome, checkout_thread
from threadstore._transfer.copy import CopyOutcome, CopyReport, copy_thread, copy_threads, write_record
from threadstore._transfer.record import (
    RECORD_FORMAT,
    ThreadRecord,
    read_record,
    record_from_bytes,
    record_from_file,
    record_from_json,
    record_to_json,
    rollout_bytes,
)

__all__ = [
    "RECORD_FORMAT",
    "CheckoutOutcome",
    "CopyOutcome",
    "CopyReport",
    "ThreadRecord",
    "checkout_thread",
    "copy_thread",
    "copy_threads",
    "read_record",
    "record_from_bytes",
    "record_from_file",
    "record_from_json",
    "record_to_json",
    "rollout_bytes",
    "write_record",
]
