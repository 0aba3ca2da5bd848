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
* What held creates buffer is bounded, one by one and all together (:class:`~.limits.HeldLimits`):
  a held create past :data:`MAX_BUFFERED_BYTES` of item JSON, the oldest ones holding items while
  all held creates hold more than ``max_bytes`` (their parameters and items), and any holding
  items for longer than ``max_age`` seconds are carried out with what is known (an empty cwd)
  and their items go to the store; more than ``max_creates`` held creates are refused
  (``ResourceExhausted``). So clients that never say where their threads live cannot grow the
  server's memory, and nothing they sent stays unstored for long.
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
import contextlib
import dataclasses
import logging
import time
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
from threadstore._server.limits import HeldLimits
from threadstore.errors import Conflict, ResourceExhausted, ThreadStoreError

__all__ = ["MAX_BUFFERED_BYTES", "DeferredCreateStore"]

MAX_BUFFERED_BYTES: Final = 8 * 1024 * 1024
"""Most item JSON a held create keeps in memory before it is carried out anyway."""

T = TypeVar("T")

logger: Final = logging.getLogger("threadstore.server")


def _params_bytes(params: CreateThreadParams) -> int:
    """About what a held create's parameters take (its instructions and tools, and the rest)."""
    tools = sum(len(encode_item(tool)) for tool in params.dynamic_tools)
    return 1024 + len(params.base_instructions or "") + tools


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
    #: When the create was held (monotonic seconds).
    since: float = field(default_factory=time.monotonic)
    #: What it takes in memory: its parameters and buffered items.
    held: int = 0

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

    def __init__(
        self, store: ThreadStore, *, default_model_provider: str = "", limits: HeldLimits | None = None
    ) -> None:
        self.store = store
        self.default_model_provider = default_model_provider
        self.limits = limits or HeldLimits()
        self._pending: dict[str, _Pending] = {}
        #: What all held creates take (the sum of their ``held``).
        self.held_bytes = 0
        self._sweeper: asyncio.Task[None] | None = None

    # -- pending bookkeeping ---------------------------------------------------------------------

    def is_pending(self, thread_id: str) -> bool:
        return thread_id in self._pending

    def _hold(self, entry: _Pending, size: int) -> None:
        entry.held += size
        self.held_bytes += size

    def _forget(self, entry: _Pending) -> None:
        """Stop holding ``entry`` (carried out or dropped)."""
        if self._pending.get(entry.params.thread_id) is entry:
            del self._pending[entry.params.thread_id]
            self.held_bytes -= entry.held

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
        self._forget(entry)
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
        if len(self._pending) >= self.limits.max_creates:
            raise ResourceExhausted(
                f"{len(self._pending)} threads are waiting for their working directory: no more can wait (try again later)"
            )
        entry = self._pending[params.thread_id] = _Pending(params)
        self._hold(entry, _params_bytes(params))

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
            size = sum(len(encode_item(item)) for item in kept)
            entry.buffered.extend(kept)
            entry.buffered_bytes += size
            self._hold(entry, size)
            if entry.cwd is not None or entry.buffered_bytes > MAX_BUFFERED_BYTES:
                await self._materialize(entry)

        await self._on(params.thread_id, pending, lambda: self.store.append_items(params))
        await self._relieve()

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
                self._forget(entry)

        await self._on(thread_id, pending, lambda: self.store.shutdown_thread(thread_id))

    async def discard_thread(self, thread_id: str) -> None:
        entry = self._pending.get(thread_id)
        if entry is not None:
            self._forget(entry)
        await self.store.discard_thread(thread_id)

    # -- updates ---------------------------------------------------------------------------------

    async def update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        async def pending(entry: _Pending) -> StoredThread:
            await self._materialize(entry)
            await self.store.persist_thread(params.thread_id)
            return await self.store.update_thread_metadata(params)

        return await self._on(params.thread_id, pending, lambda: self.store.update_thread_metadata(params))

    # -- the bounds of all held creates ----------------------------------------------------------

    async def _carry_out(self, entry: _Pending, why: str) -> None:
        """Carry out a held create now (its client's calls then go to the store as they are)."""
        async with entry.lock:
            if self._pending.get(entry.params.thread_id) is not entry:
                return
            logger.info("thread %s: carried out before its cwd was known (%s)", entry.params.thread_id, why)
            try:
                await self._materialize(entry)
            except ThreadStoreError as exc:
                logger.warning("thread %s: its held create failed: %s", entry.params.thread_id, exc)

    async def _relieve(self) -> None:
        """Carry out the oldest held creates with items while all of them hold too much."""
        while self.held_bytes > self.limits.max_bytes:
            holding = [e for e in self._pending.values() if e.buffered]
            if not holding:
                return
            await self._carry_out(min(holding, key=lambda e: e.since), "held creates hold too much")

    async def sweep(self) -> None:
        """Carry out the held creates that have held items for longer than ``max_age``."""
        oldest = time.monotonic() - self.limits.max_age
        for entry in [e for e in self._pending.values() if e.buffered and e.since <= oldest]:
            await self._carry_out(entry, f"it held items for {self.limits.max_age:g} s")

    def start(self) -> None:
        """Sweep now and then (see :meth:`sweep`), on the running loop."""
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_often(), name="threadstore-held-creates")

    async def stop(self) -> None:
        task, self._sweeper = self._sweeper, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _sweep_often(self) -> None:
        every = min(max(self.limits.max_age / 4, 0.05), 5.0)
        while True:
            await asyncio.sleep(every)
            await self.sweep()

    async def close(self) -> None:
        """Carry out and shut down the pending creates that hold items."""
        await self.stop()
        for thread_id, entry in list(self._pending.items()):
            if not entry.buffered:
                self._forget(entry)
                continue
            try:
                async with entry.lock:
                    if self._pending.get(thread_id) is entry:
                        await self._materialize(entry)
                        await self.store.shutdown_thread(thread_id)
            except ThreadStoreError:
                continue
