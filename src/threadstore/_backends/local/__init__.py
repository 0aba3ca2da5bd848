"""The local backend: threads as Codex-compatible rollout files plus a SQLite index.

Modules, one job each: :mod:`.store` (the operations), :mod:`.catalog` (keeps the index true to
the files, passing values between the parts below), :mod:`.scanner` (finds what other programs
did and reports it as :mod:`.changes`), :mod:`.indexer` (the one writer of the index: applies
what was found, takes live writers' appends), :mod:`.background`, :mod:`.fill` and
:mod:`.frontier` (many rollouts indexed in the background, newest first, pages answered before
the end), :mod:`.extract` and :mod:`.workers` (a rollout read into its index row, in worker
processes for large fills), :mod:`.index` (every SQL statement), :mod:`.writer` (live writers),
:mod:`.rollout` (rollout files: compressed rollouts, forks by reference), :mod:`.pages` (pages of
turns and items), :mod:`.search`, :mod:`.metadata` and :mod:`.moves` (search, updates, archive
and delete), :mod:`.layout` (paths), :mod:`.names` (``session_index.jsonl``), :mod:`.lock`
(writer locks), :mod:`.files` (file-system primitives).

The names below load on first use, so that a worker process importing one module of this
package does not import the whole store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threadstore._backends.local.store import LocalThreadStore
    from threadstore._contract.base import ThreadStore
    from threadstore._contract.features import ReindexReport

__all__ = ["LocalThreadStore", "ReindexReport", "open_url"]


def open_url(url: str, /, **options: Any) -> ThreadStore:
    """The store of a ``local:PATH`` URL (``~`` expanded). Options: ``fsync`` (bool), and
    ``offload`` (bool): the store runs on a thread of its own and syncs off its loop, so the
    caller's event loop never waits for the disk (:mod:`threadstore._backends.shared.offload`;
    what servers open)."""
    from pathlib import Path

    from threadstore._backends.local.store import LocalThreadStore
    from threadstore._backends.shared.offload import OffloadedStore
    from threadstore.errors import InvalidRequest

    rest = url.partition(":")[2]
    if not rest:
        raise InvalidRequest("local: needs a directory (local:PATH)")
    fsync, offload = options.get("fsync", False), options.get("offload", False)
    if not isinstance(fsync, bool) or not isinstance(offload, bool):
        raise InvalidRequest("fsync and offload must be true or false")
    home = Path(rest).expanduser()
    if offload:
        return OffloadedStore(lambda: LocalThreadStore(home=home, fsync=fsync, sync_off_loop=True))
    return LocalThreadStore(home=home, fsync=fsync)


def __getattr__(name: str) -> Any:
    if name == "LocalThreadStore":
        from threadstore._backends.local.store import LocalThreadStore

        return LocalThreadStore
    if name == "ReindexReport":
        from threadstore._contract.features import ReindexReport

        return ReindexReport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
