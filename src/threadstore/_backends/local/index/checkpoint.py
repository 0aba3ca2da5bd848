"""Copying the index's write-ahead log into the database off the writers' way."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Final

from threadstore._backends.local.index.index import Index

__all__ = ["CHECKPOINT_BYTES", "Checkpointer"]

#: The write-ahead log is copied into the database once it is larger than this.
CHECKPOINT_BYTES: Final = 16 << 20


class Checkpointer:
    """A thread that copies the write-ahead log into the database when poked, through its own
    connection, so that a writer committing many transactions never waits for that copy and
    its ``fsync`` (which SQLite otherwise does in the committing thread every thousand pages).
    :meth:`close` does a last copy and ends the thread."""

    def __init__(self, path: Path) -> None:
        self._index = Index(path, checkpoints=False)
        self._poked = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="threadstore-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._poked.set()

    def poke_if_large(self) -> None:
        """:meth:`poke` once the write-ahead log grew large (not after every small transaction:
        the copies would compete with the writers)."""
        try:
            size = os.stat(f"{self._index.path}-wal").st_size
        except OSError:
            return
        if size > CHECKPOINT_BYTES:
            self._poked.set()

    def _run(self) -> None:
        try:
            while True:
                self._poked.wait()
                self._poked.clear()
                if self._closing:
                    return
                with contextlib.suppress(sqlite3.Error):
                    self._index.checkpoint()
        finally:
            with contextlib.suppress(sqlite3.Error):
                self._index.close()

    def close(self) -> None:
        self._closing = True
        self._poked.set()
        self._thread.join()
