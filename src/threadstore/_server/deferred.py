"""Deferred creation: how the server stores threads that real Codex clients create.

Codex builds of the 0.125 era send ``CreateThread`` with an empty ``metadata_json``: the server
learns neither the working directory nor the model provider at create time, yet the thread's
first ``session_meta`` (written by the store when the thread materializes) must carry them.
:class:`DeferredCreateStore` sits in front of any :class:`ThreadStore` for the live calls and
solves this without changing it (reads go to the store directly):

* :meth:`DeferredCreateStore.create_thread_deferred` records the create as *pending* instead of
  calling the store. Nothing exists in the store yet (a second create of the id is refused with
  ``Conflict``, as is a create of an id the store already has).
* Each ``append_items`` on a pending thread first looks at **all** the raw items, the ones that
  are never persisted included: a ``session_configured`` event gives ``cwd`` and
  ``model_provider_id``; a ``turn_context`` item gives ``cwd``. The items the persistence policy
  keeps are buffered, in order.
* As soon as the cwd is known, the pending create is carried out: ``store.create_thread`` with the
  learned cwd and provider (the provider falls back to ``default_model_provider``), then the
  buffered items are appended. From then on every call goes straight to the store, which stays
  lazy as usual (its first ``session_meta`` therefore has the real cwd).
* What a held create buffers is bounded (:data:`MAX_BUFFERED_BYTES` of item JSON): past that,
  the create is carried out with what is known (an empty cwd) and the items go to the store, so a
  client that never says where its thread lives cannot grow the server's memory.
* A durability barrier that arrives while the cwd is still unknown (``persist_thread``; a
  ``flush_thread`` or ``shutdown_thread`` with buffered items; a metadata update) cannot wait:
  the create is carried out with what is known (an empty cwd) so that nothing acknowledged is
  lost. ``flush`` and ``shutdown`` with nothing buffered leave no trace, like the store's own lazy
  writers; ``discard_thread`` drops the pending create and its buffer.
* :meth:`close` carries out (and shuts down) every pending create that holds items (the caller
  closes the store afterwards).

Threads created with a known cwd (threadstore clients always send one) bypass all of this.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from threadstore._contract.base import ThreadStore
from threadstore._contract.patch import UpdateThreadMetadataParams
from threadstore._contract.types import (
    AppendThreadItemsParams,
    CreateThreadParams,
    ReadThreadParams,
    ResumeThreadParams,
    StoredThread,
    key_reused,
)
from threadstore._rollout.items import Item, encode_item
from threadstore.errors import Conflict, ThreadStoreError

__all__ = ["MAX_BUFFERED_BYTES", "DeferredCreateStore"]

MAX_BUFFERED_BYTES: Final = 8 * 1024 * 1024
"""Most item JSON a held create keeps in memory before it is carried out anyway."""

T = TypeVar("T")


@dataclass
class _Pending:
    params: CreateThreadParams
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    cwd: str | None = None
    model_provider: str | None = None
    buffered: list[Item] = field(default_factory=list)
    buffered_bytes: int = 0
    #: Idempotency keys of the appends buffered, with their digests (a retry of one is not
    #: buffered again; the key with other items is refused).
    keys: dict[str, str] = field(default_factory=dict)

    def learn(self, items: Sequence[Item]) -> None:
        for item in items:
            payload = item.get("payload")
            if not isinstance(payload, Mapping):
                continue
            kind = item.get("type")
            if kind == "event_msg" and payload.get("type") == "session_configured":
                self._take(payload.get("cwd"), payload.get("model_provider_id"))
            elif kind == "turn_context":
                self._take(payload.get("cwd"), None)

    def _take(self, cwd: Any, provider: Any) -> None:
        if self.cwd is None and isinstance(cwd, str) and cwd:
            self.cwd = cwd
        if self.model_provider is None and isinstance(provider, str) and provider:
            self.model_provider = provider


class DeferredCreateStore:
    """The live calls of ``store``, able to hold a create until the thread's cwd is known (see
    the module documentation)."""

    def __init__(self, store: ThreadStore, *, default_model_provider: str = "") -> None:
        self.store = store
        self.default_model_provider = default_model_provider
        self._pending: dict[str, _Pending] = {}

    # -- pending bookkeeping ---------------------------------------------------------------------

    def is_pending(self, thread_id: str) -> bool:
        return thread_id in self._pending

    async def _on(
        self,
        thread_id: str,
        pending_action: Callable[[_Pending], Awaitable[T]],
        otherwise: Callable[[], Awaitable[T]],
    ) -> T:
        """Run ``pending_action`` under the pending entry's lock if the thread is pending, else
        ``otherwise`` (also when the entry was resolved while waiting for the lock)."""
        entry = self._pending.get(thread_id)
        if entry is None:
            return await otherwise()
        async with entry.lock:
            if self._pending.get(thread_id) is not entry:
                return await otherwise()
            return await pending_action(entry)

    async def _materialize(self, entry: _Pending) -> None:
        """Carry out the pending create with what is known, then append the buffered items.
        The entry is resolved whether or not this succeeds."""
        thread_id = entry.params.thread_id
        del self._pending[thread_id]
        params = dataclasses.replace(
            entry.params,
            cwd=entry.cwd or "",
            model_provider=entry.model_provider or entry.params.model_provider or self.default_model_provider,
        )
        await self.store.create_thread(params)
        if entry.buffered:
            await self.store.append_items(AppendThreadItemsParams(thread_id=thread_id, items=entry.buffered))

    # -- live writers ----------------------------------------------------------------------------

    async def create_thread_deferred(self, params: CreateThreadParams) -> None:
        """Record a create whose cwd (and provider) will come from the thread's first items."""
        if params.thread_id in self._pending:
            raise Conflict(f"thread {params.thread_id} already has a live writer")
        try:
            await self.store.read_thread(ReadThreadParams(thread_id=params.thread_id, include_archived=True))
        except ThreadStoreError:
            pass
        else:
            raise Conflict(f"thread {params.thread_id} already exists")
        if params.thread_id in self._pending:  # lost a race while reading
            raise Conflict(f"thread {params.thread_id} already has a live writer")
        self._pending[params.thread_id] = _Pending(params)

    async def create_thread(self, params: CreateThreadParams) -> None:
        if params.thread_id in self._pending:
            raise Conflict(f"thread {params.thread_id} already has a live writer")
        await self.store.create_thread(params)

    async def resume_thread(self, params: ResumeThreadParams) -> None:
        if params.thread_id in self._pending:
            raise Conflict(f"thread {params.thread_id} already has a live writer")
        await self.store.resume_thread(params)

    async def append_items(self, params: AppendThreadItemsParams) -> None:
        async def pending(entry: _Pending) -> None:
            key = params.idempotency_key
            if key is not None and key in entry.keys:
                if entry.keys[key] != params.persisted.digest():
                    raise key_reused(params.thread_id, key)
                return
            entry.learn(params.items)
            if params.exact:  # existing lines: the thread is created now and takes them as they are
                await self._materialize(entry)
                await self.store.append_items(params)
                return
            if key is not None:
                entry.keys[key] = params.persisted.digest()
            # Everything some thread keeps: the store's writer picks its share when it is created.
            kept = params.persisted.items
            entry.buffered.extend(kept)
            entry.buffered_bytes += sum(len(encode_item(item)) for item in kept)
            if entry.cwd is not None or entry.buffered_bytes > MAX_BUFFERED_BYTES:
                await self._materialize(entry)

        await self._on(params.thread_id, pending, lambda: self.store.append_items(params))

    async def persist_thread(self, thread_id: str) -> None:
        async def pending(entry: _Pending) -> None:
            await self._materialize(entry)
            await self.store.persist_thread(thread_id)

        await self._on(thread_id, pending, lambda: self.store.persist_thread(thread_id))

    async def flush_thread(self, thread_id: str) -> None:
        async def pending(entry: _Pending) -> None:
            if entry.buffered:
                await self._materialize(entry)
                await self.store.flush_thread(thread_id)

        await self._on(thread_id, pending, lambda: self.store.flush_thread(thread_id))

    async def shutdown_thread(self, thread_id: str) -> None:
        async def pending(entry: _Pending) -> None:
            if entry.buffered:
                await self._materialize(entry)
                await self.store.shutdown_thread(thread_id)
            else:
                del self._pending[thread_id]

        await self._on(thread_id, pending, lambda: self.store.shutdown_thread(thread_id))

    async def discard_thread(self, thread_id: str) -> None:
        self._pending.pop(thread_id, None)
        await self.store.discard_thread(thread_id)

    # -- updates ---------------------------------------------------------------------------------

    async def update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        async def pending(entry: _Pending) -> StoredThread:
            await self._materialize(entry)
            await self.store.persist_thread(params.thread_id)
            return await self.store.update_thread_metadata(params)

        return await self._on(params.thread_id, pending, lambda: self.store.update_thread_metadata(params))

    async def close(self) -> None:
        """Carry out and shut down the pending creates that hold items."""
        for thread_id, entry in list(self._pending.items()):
            if not entry.buffered:
                self._pending.pop(thread_id, None)
                continue
            try:
                async with entry.lock:
                    if self._pending.get(thread_id) is entry:
                        await self._materialize(entry)
                        await self.store.shutdown_thread(thread_id)
            except ThreadStoreError:
                continue
