"""What a backend gives the conformance suite: stores over one storage location.

A :class:`Backend` owns one storage location for the duration of a test and opens store
instances over it. ``open()`` may be called several times; for a durable backend every store it
returns sees what the earlier ones made durable (that is how the suite checks what survives a
reopen). :class:`Capabilities` says what the backend may leave out.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from threadstore._backends.shared.live import LiveWriterStore
from threadstore._backends.shared.offload import OffloadedStore
from threadstore._contract.base import ThreadStore
from threadstore.errors import Internal

__all__ = ["Backend", "Capabilities"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend supports beyond the core contract.

    ``durable``: a store opened later sees what an earlier one made durable (an in-process store
    whose "reopen" is the same object is not). ``rollout_files``: threads live in files that
    ``read_thread_by_rollout_path`` reads (the others raise ``Unsupported``).
    """

    durable: bool = True
    rollout_files: bool = False


class Backend(abc.ABC):
    """Opens stores over one storage location (see the module documentation)."""

    #: A short name for test ids and messages.
    name: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self._opened: list[ThreadStore] = []

    async def open(self) -> ThreadStore:
        """A store over this backend's location (closed by :meth:`aclose`)."""
        store = await self._open()
        self._opened.append(store)
        return store

    @abc.abstractmethod
    async def _open(self) -> ThreadStore: ...

    async def aclose(self) -> None:
        """Close every store :meth:`open` returned, then release the location."""
        for store in reversed(self._opened):
            await store.close()

    def serving_store(self, store: ThreadStore) -> ThreadStore:
        """The store that owns the live writers behind ``store`` (a client returns the store its
        server runs). Used to inject faults."""
        return store

    async def fail_next_flush(self, store: ThreadStore, thread_id: str) -> None:
        """Make the next flush of ``thread_id``'s live writer fail once with ``Internal``.

        Works for every store built on :class:`~threadstore._backends.shared.live.LiveWriterStore`; a
        backend with its own writers overrides it."""
        target = self.serving_store(store)
        if isinstance(target, OffloadedStore):
            target = target.inner
        if not isinstance(target, LiveWriterStore):
            raise TypeError(f"{type(target).__name__} has no LiveWriter to break: override fail_next_flush")
        writer = target._live_writer(thread_id)
        flush = writer.flush

        async def failing() -> None:
            writer.flush = flush  # type: ignore[method-assign]  # once
            raise Internal("injected flush failure")

        writer.flush = failing  # type: ignore[method-assign]
