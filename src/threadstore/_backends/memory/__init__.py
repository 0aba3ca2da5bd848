"""The in-memory backend: :class:`InMemoryThreadStore`, the reference implementation of the
contract. Nothing survives the process."""

from __future__ import annotations

from threadstore._backends.memory.store import InMemoryThreadStore

__all__ = ["InMemoryThreadStore"]
