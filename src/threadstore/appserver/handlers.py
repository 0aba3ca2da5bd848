"""The v2 methods: thread lifecycle, reads, metadata and turns.

Each handler takes the request's :class:`Params` and returns a :class:`Reply` (the result, plus
notifications to send right after it) or :data:`DEFERRED` when the answer waits for a runtime
event (the thread's listener sends it). Handlers raise :class:`RpcError` or library errors; the
dispatcher turns those into error answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ..runtime.config import RUNTIME_VERSION, ThreadConfig
from ..runtime.manager import ThreadManager
from ..runtime.thread import Thread
from ..store.patch import ThreadMetadataPatch
from ..store.types import MAX_PAGE_SIZE, ListThreadsParams, SessionSource, SortDirection, ThreadSortKey
from .convert import thread_json, user_input_items
from .errors import RpcError
from .framing import RequestId
from .listener import ThreadListener
from .params import Params
from .state import LoadedThread, Outbox, PendingRollback, Registry
from .views import ThreadViews

__all__ = ["DEFERRED", "Deferred", "Handler", "Handlers", "Reply"]

logger: Final = logging.getLogger("threadstore.appserver")

UNLOAD_TIMEOUT: Final = 10.0
"""How long ``thread/archive`` waits for a loaded thread to shut down."""

DEFAULT_SOURCE_KINDS: Final = ("cli", "vscode")
"""What ``thread/list`` shows when ``sourceKinds`` is absent or empty (interactive sessions)."""

_SOURCE_KINDS: Final[Mapping[str, SessionSource]] = {
    "cli": "cli",
    "vscode": "vscode",
    "exec": "exec",
    "appServer": "mcp",
    "unknown": "unknown",
    "subAgent": "subagent",
    "subAgentReview": {"subagent": "review"},
    "subAgentCompact": {"subagent": "compact"},
    "subAgentThreadSpawn": "subagent",
    "subAgentOther": "subagent",
}


@dataclass(frozen=True)
class Reply:
    """A result, and the notifications that follow it (``(method, params)`` pairs)."""

    result: Any
    then: list[tuple[str, Any]] = field(default_factory=list)


class Deferred:
    """The answer will be sent later, by the thread's listener."""


DEFERRED: Final = Deferred()

Handler = Callable[[Params, RequestId], Awaitable[Reply | Deferred]]


def _platform() -> tuple[str, str]:
    if sys.platform.startswith("win"):
        return "windows", "windows"
    if sys.platform == "darwin":
        return "unix", "macos"
    return "unix", sys.platform.rstrip("0123456789") or "unknown"


class Handlers:
    """The method table of one connection (see :meth:`routes`)."""

    def __init__(self, manager: ThreadManager, outbox: Outbox) -> None:
        self.manager = manager
        self.outbox = outbox
        self.registry = Registry()
        self.views = ThreadViews(manager, self.registry)
        self.listener = ThreadListener(outbox, self.registry, self.views)

    def routes(self) -> dict[str, Handler]:
        return {
            "thread/start": self.thread_start,
            "thread/resume": self.thread_resume,
            "thread/fork": self.thread_fork,
            "thread/list": self.thread_list,
            "thread/loaded/list": self.thread_loaded_list,
            "thread/read": self.thread_read,
            "thread/archive": self.thread_archive,
            "thread/unarchive": self.thread_unarchive,
            "thread/name/set": self.thread_name_set,
            "thread/rollback": self.thread_rollback,
            "turn/start": self.turn_start,
            "turn/interrupt": self.turn_interrupt,
        }

    # -- initialize ------------------------------------------------------------------------------

    def initialize(self, params: Params) -> dict[str, Any]:
        client = params.raw.get("clientInfo")
        suffix = ""
        if isinstance(client, Mapping) and isinstance(client.get("name"), str):
            version = client.get("version")
            suffix = f" ({client['name']}; {version})" if isinstance(version, str) else f" ({client['name']})"
        family, os_name = _platform()
        user_agent = (
            f"threadstore/{RUNTIME_VERSION} ({platform.system()} {platform.release()}; {platform.machine()}){suffix}"
        )
        return {"userAgent": user_agent, "platformFamily": family, "platformOs": os_name}

    # -- loading ---------------------------------------------------------------------------------

    def attach(self, thread: Thread) -> LoadedThread:
        """Register a thread the manager just loaded and start its listener."""
        existing = self.registry.get(thread.thread_id)
        if existing is not None and existing.thread is thread:
            return existing
        loaded = LoadedThread(thread)
        self.registry.add(loaded)
        loaded.listener = asyncio.create_task(
            self.listener.run(loaded), name=f"threadstore-appserver-listener-{thread.thread_id}"
        )
        return loaded

    async def unload(self, loaded: LoadedThread) -> None:
        """Shut a loaded thread down (bounded) and wait for its listener to finish."""
        try:
            await asyncio.wait_for(self.manager.remove_thread(loaded.thread_id), UNLOAD_TIMEOUT)
        except TimeoutError:
            raise RpcError.invalid_request(f"thread {loaded.thread_id} did not shut down in time") from None
        task = loaded.listener
        if task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), UNLOAD_TIMEOUT)
        self.registry.discard(loaded)

    def _config(self, params: Params) -> ThreadConfig:
        return ThreadConfig(
            cwd=params.opt_str("cwd") or os.getcwd(),
            model=params.opt_str("model"),
            model_provider=params.opt_str("modelProvider"),
            base_instructions=params.opt_str("baseInstructions"),
            ephemeral=params.flag("ephemeral"),
        )

    def _session_result(self, thread: Thread, shown: dict[str, Any]) -> dict[str, Any]:
        snapshot = thread.config_snapshot()
        return {
            "thread": shown,
            "model": snapshot.model,
            "modelProvider": snapshot.model_provider_id,
            "cwd": snapshot.cwd,
            "approvalPolicy": snapshot.approval_policy,
            "reasoningEffort": snapshot.reasoning_effort,
        }

    # -- thread lifecycle ------------------------------------------------------------------------

    async def thread_start(self, params: Params, request_id: RequestId) -> Reply:
        thread = await self.manager.start_thread(self._config(params))
        self.attach(thread)
        shown = await self.views.read(thread.thread_id, include_turns=False)
        return Reply(self._session_result(thread, shown), [("thread/started", {"thread": shown})])

    async def thread_resume(self, params: Params, request_id: RequestId) -> Reply:
        thread_id = params.thread_id()
        loaded = self.registry.get(thread_id)
        thread = loaded.thread if loaded is not None else await self.manager.resume_thread(thread_id)
        self.attach(thread)
        shown = await self.views.read(thread_id, include_turns=True)
        return Reply(self._session_result(thread, shown))

    async def thread_fork(self, params: Params, request_id: RequestId) -> Reply:
        source_id = params.thread_id()
        # A source with an unfinished turn is forked with an interrupted boundary.
        thread = await self.manager.fork_thread(source_id)
        self.attach(thread)
        shown = await self.views.read(thread.thread_id, include_turns=True)
        started = dict(shown, turns=[])
        return Reply(self._session_result(thread, shown), [("thread/started", {"thread": started})])

    async def thread_archive(self, params: Params, request_id: RequestId) -> Reply:
        thread_id = params.thread_id()
        loaded = self.registry.get(thread_id)
        if loaded is not None:
            if loaded.thread.ephemeral:
                raise RpcError.invalid_request(f"thread {thread_id} is ephemeral: there is nothing to archive")
            await self.unload(loaded)
        await self.manager.store.archive_thread(thread_id)
        return Reply({}, [("thread/archived", {"threadId": thread_id})])

    async def thread_unarchive(self, params: Params, request_id: RequestId) -> Reply:
        thread_id = params.thread_id()
        stored = await self.manager.store.unarchive_thread(thread_id)
        shown = thread_json(stored, status=self.registry.status_of(thread_id))
        return Reply({"thread": shown}, [("thread/unarchived", {"threadId": thread_id})])

    async def thread_name_set(self, params: Params, request_id: RequestId) -> Reply:
        thread_id = params.thread_id()
        name = params.string("name")
        if not name.strip():
            raise RpcError.invalid_request("thread name must not be empty")
        await self.manager.update_thread_metadata(thread_id, ThreadMetadataPatch(name=name))
        return Reply({}, [("thread/name/updated", {"threadId": thread_id, "threadName": name})])

    # -- reads -----------------------------------------------------------------------------------

    async def thread_read(self, params: Params, request_id: RequestId) -> Reply:
        thread_id = params.thread_id()
        include_turns = params.flag("includeTurns")
        return Reply({"thread": await self.views.read(thread_id, include_turns=include_turns)})

    async def thread_list(self, params: Params, request_id: RequestId) -> Reply:
        limit = params.opt_int("limit", minimum=1) or 50
        kinds = params.opt_str_list("sourceKinds") or list(DEFAULT_SOURCE_KINDS)
        sources: list[SessionSource] = []
        for kind in kinds:
            if kind not in _SOURCE_KINDS:
                raise RpcError.invalid_params(f"Invalid params: unknown source kind {kind!r}")
            sources.append(_SOURCE_KINDS[kind])
        sort_key: ThreadSortKey = (
            "updated_at"
            if params.choice("sortKey", ("created_at", "updated_at"), "created_at") == "updated_at"
            else "created_at"
        )
        direction: SortDirection = "asc" if params.choice("sortDirection", ("asc", "desc"), "desc") == "asc" else "desc"
        query = ListThreadsParams(
            page_size=min(limit, MAX_PAGE_SIZE),
            cursor=params.opt_str("cursor"),
            sort_key=sort_key,
            sort_direction=direction,
            allowed_sources=sources,
            model_providers=params.opt_str_list("modelProviders") or None,
            cwd_filters=params.opt_str_list("cwd", allow_single=True),
            archived=params.flag("archived"),
            search_term=params.opt_str("searchTerm") or None,
        )
        page = await self.manager.store.list_threads(query)
        data = [self.views.to_json(stored, include_turns=False) for stored in page.items]
        return Reply({"data": data, "nextCursor": page.next_cursor})

    async def thread_loaded_list(self, params: Params, request_id: RequestId) -> Reply:
        ids = self.registry.ids()
        cursor = params.opt_str("cursor")
        if cursor is not None:
            ids = [i for i in ids if i > cursor]
        limit = params.opt_int("limit", minimum=1)
        next_cursor = None
        if limit is not None and len(ids) > limit:
            ids = ids[:limit]
            next_cursor = ids[-1]
        return Reply({"data": ids, "nextCursor": next_cursor})

    # -- turns and rollback ----------------------------------------------------------------------

    async def turn_start(self, params: Params, request_id: RequestId) -> Deferred:
        thread_id = params.thread_id()
        items = user_input_items(params.raw.get("input"))
        loaded = self.registry.require(thread_id)
        if loaded.turn_busy:
            raise RpcError.invalid_request(f"a turn is already in progress on thread {thread_id}")
        if loaded.pending_rollback is not None:
            raise RpcError.invalid_request(f"a rollback is in progress on thread {thread_id}")
        submission = await loaded.thread.submit({"type": "user_input", "items": items})
        # Registered before the listener can run again (no await in between): the turn's
        # task_started answers this request.
        loaded.pending_starts[submission] = request_id
        return DEFERRED

    async def turn_interrupt(self, params: Params, request_id: RequestId) -> Deferred:
        thread_id = params.thread_id()
        turn_id = params.string("turnId")
        loaded = self.registry.require(thread_id)
        turn = loaded.active_turn
        if turn is None:
            raise RpcError.invalid_request(f"no turn is in progress on thread {thread_id}")
        if turn.turn_id != turn_id:
            raise RpcError.invalid_request(f"turn {turn_id} is not the active turn of thread {thread_id}")
        loaded.pending_interrupts.append(request_id)
        await loaded.thread.submit({"type": "interrupt"})
        return DEFERRED

    async def thread_rollback(self, params: Params, request_id: RequestId) -> Deferred:
        thread_id = params.thread_id()
        num_turns = params.opt_int("numTurns")
        if num_turns is None:
            raise RpcError.invalid_params("Invalid params: missing field `numTurns`")
        if num_turns < 1:
            raise RpcError.invalid_request("numTurns must be >= 1")
        loaded = self.registry.require(thread_id)
        if loaded.thread.ephemeral:
            raise RpcError.invalid_request("thread rollback requires persisted thread history")
        if loaded.pending_rollback is not None:
            raise RpcError.invalid_request("rollback already in progress for this thread")
        if loaded.turn_busy:
            raise RpcError.invalid_request("cannot rollback while a turn is in progress")
        submission = await loaded.thread.submit({"type": "thread_rollback", "num_turns": num_turns})
        loaded.pending_rollback = PendingRollback(submission, request_id)
        return DEFERRED

    # -- shutdown --------------------------------------------------------------------------------

    async def shutdown(self, per_thread: float) -> None:
        """Shut every loaded thread down (each within ``per_thread`` seconds) and stop the
        listeners."""
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
