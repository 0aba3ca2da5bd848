"""The state every connection of one app server shares: loaded threads, connections, routing.

* **Loaded threads** are shared: a thread loaded by one connection is the same thread for all
  (one listener task per thread, see :mod:`.listener`).
* **Subscriptions** belong to connections (:attr:`Member.subscriptions`). A connection
  subscribes to a thread by starting, resuming (rejoining) or forking it, as with Codex; reads do
  not subscribe. ``thread/unsubscribe`` and the connection's end remove subscriptions.
* **Routing.** :meth:`Hub.notify_thread` sends a thread's activity (turns, items, token usage,
  errors, status) to the connections subscribed to it, in the order the thread's events came;
  :meth:`Hub.broadcast` sends catalogue changes (``thread/started``, ``thread/archived``,
  ``thread/unarchived``, ``thread/deleted``, ``thread/name/updated``, ``thread/reverted``,
  ``thread/closed``) to every initialized connection, as Codex does.
* **Nothing of this machine's disk for a client.** A client's ``cwd`` is a path of the client's
  machine: the hub turns the manager's git reading off (``ThreadManager.read_git``), so a
  thread's git facts come from its client (``thread/metadata/update``) or not at all.
* **Idle unload.** When the last subscriber of a loaded thread leaves, the thread stays loaded
  for ``idle_unload_delay`` seconds (Codex: 30 minutes); if nobody subscribed again and no turn
  runs by then, it is shut down (everything said is stored) and ``thread/status/changed``
  (``notLoaded``) and ``thread/closed`` are broadcast. A turn still running postpones it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final, Protocol

from threadstore._appserver.convert import status_json
from threadstore._appserver.errors import RpcError
from threadstore._appserver.state import LoadedThread, Outbox, Registry
from threadstore._runtime.manager import ThreadManager
from threadstore._runtime.thread import Thread

__all__ = ["DEFAULT_IDLE_UNLOAD_DELAY", "UNLOAD_TIMEOUT", "Hub", "Member"]

logger: Final = logging.getLogger("threadstore.appserver")

UNLOAD_TIMEOUT: Final = 10.0
"""How long an unload waits for a loaded thread to shut down (Codex: 10 s)."""

DEFAULT_IDLE_UNLOAD_DELAY: Final = 30 * 60.0
"""How long a loaded thread without subscribers stays loaded (Codex: 30 minutes)."""


class Member(Protocol):
    """What the hub needs of a connection."""

    outbox: Outbox
    initialized: bool
    subscriptions: set[str]


class Listener(Protocol):
    async def run(self, loaded: LoadedThread) -> None: ...


class Hub:
    def __init__(self, manager: ThreadManager, *, idle_unload_delay: float = DEFAULT_IDLE_UNLOAD_DELAY) -> None:
        self.manager = manager
        manager.read_git = False  # a client's cwd is not ours to read (see the module documentation)
        self.registry = Registry()
        self.idle_unload_delay = idle_unload_delay
        self._members: list[Member] = []
        self._idle_timers: dict[str, asyncio.TimerHandle] = {}
        self._unloads: set[asyncio.Task[None]] = set()

    # -- connections -----------------------------------------------------------------------------

    def join(self, member: Member) -> None:
        self._members.append(member)

    def leave(self, member: Member) -> None:
        """Forget a closed connection; the threads it alone was subscribed to go idle."""
        if member in self._members:
            self._members.remove(member)
        left, member.subscriptions = member.subscriptions, set()
        for thread_id in left:
            self._maybe_idle(thread_id)

    def subscribers(self, thread_id: str) -> list[Member]:
        return [m for m in self._members if thread_id in m.subscriptions]

    def subscribe(self, member: Member, thread_id: str) -> None:
        member.subscriptions.add(thread_id)
        timer = self._idle_timers.pop(thread_id, None)
        if timer is not None:
            timer.cancel()

    def unsubscribe(self, member: Member, thread_id: str) -> bool:
        """Remove one subscription; False when there was none."""
        if thread_id not in member.subscriptions:
            return False
        member.subscriptions.discard(thread_id)
        self._maybe_idle(thread_id)
        return True

    # -- routing ---------------------------------------------------------------------------------

    def notify_thread(self, thread_id: str, method: str, params: Any) -> None:
        for member in self.subscribers(thread_id):
            member.outbox.notify(method, params)

    def broadcast(self, method: str, params: Any) -> None:
        for member in list(self._members):
            if member.initialized:
                member.outbox.notify(method, params)

    # -- loading and unloading -------------------------------------------------------------------

    def attach(self, thread: Thread, listener: Listener) -> LoadedThread:
        """Register a thread the manager just loaded and start its listener (idempotent)."""
        existing = self.registry.get(thread.thread_id)
        if existing is not None and existing.thread is thread:
            return existing
        loaded = LoadedThread(thread)
        self.registry.add(loaded)
        loaded.listener = asyncio.create_task(
            listener.run(loaded), name=f"threadstore-appserver-listener-{thread.thread_id}"
        )
        return loaded

    async def unload(self, loaded: LoadedThread) -> None:
        """Shut a loaded thread down (bounded) and wait for its listener to finish; its
        subscriptions end."""
        self._cancel_idle(loaded.thread_id)
        try:
            await asyncio.wait_for(self.manager.remove_thread(loaded.thread_id), UNLOAD_TIMEOUT)
        except TimeoutError:
            raise RpcError.invalid_request(f"thread {loaded.thread_id} did not shut down in time") from None
        task = loaded.listener
        if task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), UNLOAD_TIMEOUT)
        self.registry.discard(loaded)
        for member in self._members:
            member.subscriptions.discard(loaded.thread_id)

    def _cancel_idle(self, thread_id: str) -> None:
        timer = self._idle_timers.pop(thread_id, None)
        if timer is not None:
            timer.cancel()

    def _maybe_idle(self, thread_id: str) -> None:
        if self.registry.get(thread_id) is None or self.subscribers(thread_id) or thread_id in self._idle_timers:
            return
        loop = asyncio.get_running_loop()
        self._idle_timers[thread_id] = loop.call_later(self.idle_unload_delay, self._idle_expired, thread_id)

    def _idle_expired(self, thread_id: str) -> None:
        self._idle_timers.pop(thread_id, None)
        loaded = self.registry.get(thread_id)
        if loaded is None or self.subscribers(thread_id):
            return
        if loaded.turn_busy:
            self._maybe_idle(thread_id)  # try again once more time has passed
            return
        task = asyncio.get_running_loop().create_task(self._unload_idle(loaded), name=f"threadstore-unload-{thread_id}")
        self._unloads.add(task)
        task.add_done_callback(self._unloads.discard)

    async def _unload_idle(self, loaded: LoadedThread) -> None:
        try:
            await self.unload(loaded)
        except RpcError as exc:
            logger.warning("idle thread %s was not unloaded: %s", loaded.thread_id, exc.message)
            return
        self.broadcast("thread/status/changed", {"threadId": loaded.thread_id, "status": status_json("notLoaded")})
        self.broadcast("thread/closed", {"threadId": loaded.thread_id})

    async def shutdown(self, per_thread: float) -> None:
        """Shut every loaded thread down (each within ``per_thread`` seconds) and stop the
        listeners and idle timers."""
        for timer in self._idle_timers.values():
            timer.cancel()
        self._idle_timers.clear()
        for task in list(self._unloads):
            task.cancel()
        tasks = [loaded.listener for loaded in self.registry.all() if loaded.listener is not None]
        report = await self.manager.shutdown_all(timeout=per_thread)
        if not report.all_stopped:
            logger.warning(
                "threads that did not shut down cleanly: timed out %s, failed %s", report.timed_out, report.failed
            )
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=per_thread)
            for task in pending:
                task.cancel()
