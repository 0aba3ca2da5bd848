"""The in-memory backend: :class:`InMemoryThreadStore`, the reference implementation of the
contract. Nothing survives the process."""

from __future__ import annotations

from threadstore._backends.memory.store import InMemoryThreadStore

__all__ = ["InMemoryThreadStore", "open_url"]


def open_url(url: str, /, **options: object) -> InMemoryThreadStore:
    """The store of a ``memory:`` URL: a new, empty in-memory store (options are ignored)."""
    from threadstore.errors import InvalidRequest

    if url.partition(":")[2]:
        raise InvalidRequest(f"memory: takes no location: {url!r}")
    return InMemoryThreadStore()
