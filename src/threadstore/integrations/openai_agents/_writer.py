"""The writer of a session's thread, held for one write at a time.

A store allows one live writer per thread (a second gets ``Conflict``; the local and PostgreSQL
stores enforce it across processes and machines). Sessions of one ``session_id`` may live in
several processes at once (web workers), so a session never keeps the writer: each write opens
it (resuming the thread, or creating it the first time), appends, and shuts it down, which
makes the write durable to the store's standard and frees the thread for the next writer.

Waiting: writes of one store object in one event loop queue on an ``asyncio.Lock`` first (they
never see each other's ``Conflict``); a ``Conflict`` from elsewhere (another process, another
store object) is retried with jittered exponential backoff (5 ms doubling to 200 ms) until
``wait_timeout`` seconds have passed, and only then surfaces. How long a writer that died
holding a thread blocks it is the store's: the local store's lock is an ``flock`` the kernel
releases when the process dies; PostgreSQL's is a lease that expires ``lease_ttl`` seconds
(30 by default) after its last renewal; behind ``threadstore serve``, the server holds the
writer for the client that opened it and releases it once it has been idle for
``--idle-writer-timeout`` seconds (1800 by default; ``start_server(idle_writer_timeout=...)``),
so a client that dies between its resume and its shutdown blocks the thread that long (and a
server that dies releases what its own store releases: the local lock at once, a PostgreSQL
lease after ``lease_ttl``).

A store that appends in one step (:class:`~threadstore._contract.features.OneShotAppends`: the
PostgreSQL store) takes, writes and releases the thread in one transaction for ``add_items``;
the same waiting rules apply to its ``Conflict``. A process that dies during such an append
leaves nothing behind (the transaction never commits), so only ``pop_item``, ``clear_session``
and other programs' live writers can leave a lease to expire.

A write is never torn by cancellation: once started, it runs to completion (its shutdown
included) even if the caller is cancelled, as the Agents SDK asks of session mutations.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from threadstore._aio import run_detached
from threadstore._contract.base import ThreadStore
from threadstore._contract.features import OneShotAppends
from threadstore._contract.types import AppendThreadItemsParams, CreateThreadParams, ResumeThreadParams
from threadstore.errors import Conflict, ThreadNotFound, ThreadStoreError

__all__ = ["append_alone", "hold_writer"]

T = TypeVar("T")

_FIRST_DELAY: Final = 0.005
_LONGEST_DELAY: Final = 0.2

# Per event loop, per (store, thread): the lock writes of one process queue on.
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[int, str], asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _lock(store: ThreadStore, thread_id: str) -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    locks = _LOCKS.setdefault(loop, {})
    key = (id(store), thread_id)
    lock = locks.get(key)
    if lock is None:
        lock = locks[key] = asyncio.Lock()
    return lock


async def _retrying(thread_id: str, attempt: Callable[[], Awaitable[None]], wait_timeout: float) -> None:
    """Run ``attempt`` until it does not raise ``Conflict`` (backing off), for ``wait_timeout``
    seconds at most."""
    deadline = time.monotonic() + wait_timeout
    delay = _FIRST_DELAY
    while True:
        try:
            await attempt()
            return
        except Conflict as exc:
            held = exc
        if time.monotonic() >= deadline:
            raise Conflict(f"thread {thread_id} stayed busy for {wait_timeout:g} s: {held}") from held
        await asyncio.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 2, _LONGEST_DELAY)


async def _open(store: ThreadStore, create: CreateThreadParams, wait_timeout: float) -> None:
    """Become the thread's live writer: resume it, or create it when it does not exist (a
    creation that finds the thread created meanwhile is a ``Conflict``: tried again)."""

    async def attempt() -> None:
        try:
            await store.resume_thread(ResumeThreadParams(create.thread_id, include_archived=True))
        except ThreadNotFound:
            await store.create_thread(create)

    await _retrying(create.thread_id, attempt, wait_timeout)


async def append_alone(
    store: ThreadStore, create: CreateThreadParams, params: AppendThreadItemsParams, *, wait_timeout: float
) -> None:
    """Append ``params`` as the thread's only writer (creating the thread from ``create`` the
    first time): in one step on a store that can, else through :func:`hold_writer`."""
    if not isinstance(store, OneShotAppends):
        await hold_writer(store, create, lambda: store.append_items(params), wait_timeout=wait_timeout)
        return
    one_shot: OneShotAppends = store

    async def run() -> None:
        async with _lock(store, create.thread_id):
            await _retrying(create.thread_id, lambda: one_shot.append_unheld(create, params), wait_timeout)

    await run_detached(run)


async def hold_writer(
    store: ThreadStore,
    create: CreateThreadParams,
    work: Callable[[], Awaitable[T]],
    *,
    wait_timeout: float,
) -> T:
    """Run ``work`` as the thread's only writer (see the module documentation): open the writer,
    run ``work``, shut the writer down. If ``work`` or the shutdown fails the writer is
    discarded (what was durable stays) and the error raised."""
    thread_id = create.thread_id

    async def run() -> T:
        async with _lock(store, thread_id):
            await _open(store, create, wait_timeout)
            try:
                result = await work()
                await store.shutdown_thread(thread_id)
            except BaseException:
                with contextlib.suppress(ThreadStoreError):
                    await store.discard_thread(thread_id)
                raise
            return result

    return await run_detached(run)
