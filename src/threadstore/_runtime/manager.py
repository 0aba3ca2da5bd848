"""``ThreadManager``: the process registry of running threads.

It starts, resumes, forks, looks up and removes threads, and routes metadata updates (through
the live thread when one is loaded, straight to the store when the thread is cold). Nothing here
knows which backend the store is, except that resuming *by rollout path* needs a store that
keeps threads in files.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from threadstore._contract.base import ThreadStore
from threadstore._contract.features import RolloutFiles
from threadstore._contract.patch import ThreadMetadataPatch, UpdateThreadMetadataParams
from threadstore._contract.types import (
    CreateThreadParams,
    ReadThreadByRolloutPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    SessionSource,
    StoredThread,
    validate_source,
)
from threadstore._ids import new_thread_id, validate_thread_id
from threadstore._rollout.items import Item, base_instructions
from threadstore._runtime.config import ORIGINATOR, RUNTIME_VERSION, ThreadConfig
from threadstore._runtime.errors import ThreadRuntimeError
from threadstore._runtime.events import INITIAL_SUBMIT_ID
from threadstore._runtime.gitinfo import collect_git_info
from threadstore._runtime.history import fork_items, fork_reference_line
from threadstore._runtime.live_thread import LiveThread, LiveThreadInitGuard
from threadstore._runtime.models.base import ModelClient
from threadstore._runtime.models.builtin import BuiltinModel
from threadstore._runtime.session import Session
from threadstore._runtime.shutdown import ThreadShutdownReport, shut_down
from threadstore._runtime.thread import Thread
from threadstore.errors import InvalidRequest, ThreadNotFound, ThreadStoreError, Unsupported

__all__ = ["ThreadManager"]

logger: Final = logging.getLogger("threadstore.runtime")


def store_has_files(store: ThreadStore) -> bool:
    """Whether ``store`` keeps threads in rollout files (so it can resume by path)."""
    return isinstance(store, RolloutFiles)


class ThreadManager:
    """The registry of running threads over one store.

    ``model`` answers every thread's turns (None means the offline :class:`BuiltinModel`);
    ``source`` is recorded as the session source of threads it creates. Git facts of a new
    thread's working directory are collected here, off the event loop, and handed to the store.
    """

    def __init__(
        self,
        store: ThreadStore,
        *,
        model: ModelClient | None = None,
        source: SessionSource = "cli",
    ) -> None:
        self._store = store
        self._model = model if model is not None else BuiltinModel()
        self._source = validate_source(source)
        self._threads: dict[str, Thread] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def store(self) -> ThreadStore:
        return self._store

    @property
    def model(self) -> ModelClient:
        return self._model

    # -- registry --------------------------------------------------------------------------------

    def get_thread(self, thread_id: str) -> Thread:
        """The loaded thread; raises ``ThreadNotFound`` when it is not loaded."""
        thread_id = validate_thread_id(thread_id)
        thread = self._threads.get(thread_id)
        if thread is None:
            raise ThreadNotFound(thread_id)
        return thread

    def list_thread_ids(self) -> list[str]:
        """Ids of the loaded threads, sorted."""
        return sorted(self._threads)

    def _lock(self, thread_id: str) -> asyncio.Lock:
        lock = self._locks.get(thread_id)
        if lock is None:
            lock = self._locks[thread_id] = asyncio.Lock()
        return lock

    def _resolve(self, config: ThreadConfig) -> ThreadConfig:
        return config.with_defaults(model=self._model.default_model, model_provider=self._model.provider_id)

    def _config_from_stored(self, stored: StoredThread) -> ThreadConfig:
        sandbox = stored.sandbox_policy if isinstance(stored.sandbox_policy, Mapping) else {"type": "read-only"}
        return self._resolve(
            ThreadConfig(
                cwd=stored.cwd or os.getcwd(),
                model=stored.model,
                model_provider=stored.model_provider or None,
                reasoning_effort=stored.reasoning_effort,
                approval_policy=stored.approval_mode or "never",
                sandbox_policy=sandbox,
                memory_mode=stored.memory_mode,
            )
        )

    async def _spawn(
        self,
        *,
        thread_id: str,
        config: ThreadConfig,
        live: LiveThread | None,
        initial_items: Sequence[Item] = (),
        copy_items: Sequence[Item] = (),
        forked_from_id: str | None = None,
        thread_name: str | None = None,
    ) -> Thread:
        async with LiveThreadInitGuard(live) as guard:
            rollout_path: str | None = None
            if live is not None:
                if copy_items:
                    await live.append_items(list(copy_items))
                    await live.flush()
                try:
                    path = live.local_rollout_path()
                except ThreadStoreError:
                    path = None
                rollout_path = str(path) if path is not None else None
            session = Session(
                thread_id=thread_id,
                config=config,
                model=self._model,
                live=live,
                source=self._source,
                initial_items=initial_items,
                forked_from_id=forked_from_id,
                rollout_path=rollout_path,
                thread_name=thread_name,
            )
            thread = Thread(session)
            session.start()
            try:
                first = await thread.next_event()
                if first.id != INITIAL_SUBMIT_ID or first.type != "session_configured":
                    raise ThreadRuntimeError(f"thread {thread_id}: the first event was not session_configured")
                if thread_id in self._threads:
                    raise InvalidRequest(f"thread {thread_id} is already running")
            except BaseException:
                session.abort()
                raise
            thread._set_session_configured(first.msg)
            self._threads[thread_id] = thread
            guard.commit()
        return thread

    # -- start / resume / fork -------------------------------------------------------------------

    async def start_thread(self, config: ThreadConfig) -> Thread:
        """Start a new thread (UUIDv7 id). Nothing is stored until its first turn."""
        config = self._resolve(config)
        thread_id = new_thread_id()
        live = await self._create_live(thread_id, config)
        return await self._spawn(thread_id=thread_id, config=config, live=live)

    async def _create_live(
        self, thread_id: str, config: ThreadConfig, forked_from_id: str | None = None
    ) -> LiveThread | None:
        params = await self._create_params(thread_id, config, forked_from_id)
        return await LiveThread.create(self._store, params) if params is not None else None

    async def _create_params(
        self, thread_id: str, config: ThreadConfig, forked_from_id: str | None = None
    ) -> CreateThreadParams | None:
        """How a new thread is created in the store (None for an ephemeral one)."""
        if config.ephemeral:
            return None
        assert config.model_provider is not None
        git_info = await asyncio.to_thread(collect_git_info, config.cwd)
        return CreateThreadParams(
            thread_id=thread_id,
            cwd=config.cwd,
            model_provider=config.model_provider,
            source=self._source,
            forked_from_id=forked_from_id,
            base_instructions=config.base_instructions,
            dynamic_tools=config.dynamic_tools,
            event_persistence_mode=config.event_persistence_mode,
            memory_mode=config.memory_mode,
            originator=ORIGINATOR,
            cli_version=RUNTIME_VERSION,
            git_info=git_info,
        )

    async def resume_thread(
        self,
        thread_id: str,
        config: ThreadConfig | None = None,
        rollout_path: str | os.PathLike[str] | None = None,
    ) -> Thread:
        """Resume a stored thread by id (or by its rollout file, on a store with files).

        A thread that is already running is returned as it is (a rejoin), unless a different
        rollout path was asked for. ``config=None`` continues with the thread's stored settings.
        The model history is rebuilt from the stored items (compaction and rollback honoured)."""
        thread_id = validate_thread_id(thread_id)
        path = os.fspath(rollout_path) if rollout_path is not None else None
        if path is not None and not store_has_files(self._store):
            raise Unsupported("resume_thread by rollout_path (this store does not keep rollout files)")
        async with self._lock(thread_id):
            existing = self._threads.get(thread_id)
            if existing is not None:
                if existing.is_running:
                    live_path = existing.rollout_path
                    if path is not None and live_path is not None and Path(path).resolve() != Path(live_path).resolve():
                        raise InvalidRequest(f"thread {thread_id} is already running with a different rollout path")
                    return existing
                del self._threads[thread_id]
            if path is not None:
                stored = await self._store.read_thread_by_rollout_path(
                    ReadThreadByRolloutPathParams(
                        path, include_archived=True, include_history=config is not None and config.ephemeral
                    )
                )
                if stored.thread_id != thread_id:
                    raise InvalidRequest(f"rollout {path} belongs to thread {stored.thread_id}, not {thread_id}")
            else:
                stored = await self._store.read_thread(
                    ReadThreadParams(
                        thread_id, include_archived=True, include_history=config is not None and config.ephemeral
                    )
                )
            derived = config is None
            config = self._config_from_stored(stored) if config is None else self._resolve(config)
            live: LiveThread | None = None
            if config.ephemeral:
                items = stored.history.items if stored.history is not None else []
            else:
                live = await LiveThread.resume(
                    self._store,
                    ResumeThreadParams(
                        thread_id,
                        rollout_path=path,
                        include_archived=True,
                        cwd=config.cwd,
                        model_provider=config.model_provider,
                        event_persistence_mode=config.event_persistence_mode,
                    ),
                )
                items = live.initial_history
                if derived:
                    config = dataclasses.replace(config, base_instructions=base_instructions(items, thread_id))
            return await self._spawn(
                thread_id=thread_id,
                config=config,
                live=live,
                initial_items=items,
                forked_from_id=stored.forked_from_id,
                thread_name=stored.name,
            )

    async def fork_thread(
        self,
        thread_id: str,
        nth_user_message: int | None = None,
        config: ThreadConfig | None = None,
    ) -> Thread:
        """Start a new thread (new id, ``forked_from_id`` = the source) from a copy of the source's
        history: all of it (``nth_user_message=None``; an unfinished last turn gets an interrupted
        boundary) or the part before the ``n``-th user message (0-based)."""
        thread_id = validate_thread_id(thread_id)
        source = self._threads.get(thread_id)
        if source is not None and source.ephemeral:
            raise InvalidRequest(f"thread {thread_id} is ephemeral: it has no persisted history to fork")
        if source is not None and source.live_thread is not None and not source.live_thread.closed:
            await source.live_thread.flush()
        stored = await self._store.read_thread(ReadThreadParams(thread_id, include_archived=True, include_history=True))
        history = stored.history.items if stored.history is not None else []
        items = fork_items(history, nth_user_message)
        if config is None:
            config = dataclasses.replace(
                self._config_from_stored(stored), base_instructions=base_instructions(history, thread_id)
            )
        else:
            config = self._resolve(config)
        new_id = new_thread_id()
        params = await self._create_params(new_id, config, forked_from_id=thread_id)
        live = await LiveThread.create(self._store, params) if params is not None else None
        copied: list[Item] = items
        if params is not None and stored.history_mode == "paginated":
            # As Codex of that era forks: by reference (the fork stores its own lines only: its
            # first line names the parent and where to cut, then any boundary the fork adds).
            kept = min(len(items), len(history))
            first = fork_reference_line(params, history, kept)
            copied = [first, *items[kept:]]
            items = [first, *items]
        return await self._spawn(
            thread_id=new_id,
            config=config,
            live=live,
            initial_items=items,
            copy_items=copied,
            forked_from_id=thread_id,
        )

    # -- removal and shutdown --------------------------------------------------------------------

    async def remove_thread(self, thread_id: str) -> Thread | None:
        """Unload a thread: its running turn is aborted and its persistence shut down (discarded
        if shutting down fails), so no live writer is left behind and the id can be resumed
        again. Returns the removed thread, or None if it was not loaded."""
        thread_id = validate_thread_id(thread_id)
        thread = self._threads.pop(thread_id, None)
        lock = self._locks.get(thread_id)
        if lock is not None and not lock.locked():
            del self._locks[thread_id]
        if thread is None:
            return None
        await thread.close()
        return thread

    async def shutdown_all(self, timeout: float = 10.0) -> ThreadShutdownReport:  # noqa: ASYNC109 - decided API
        """Shut every loaded thread down concurrently, each within ``timeout`` seconds.

        Threads that stopped are removed from the registry; those that timed out stay so the
        caller can retry; ``failed`` lists threads whose persistence did not shut down cleanly."""
        threads = list(self._threads.items())
        report = await shut_down(threads, timeout)
        for thread_id, thread in threads:
            if thread_id not in report.timed_out and self._threads.get(thread_id) is thread:
                del self._threads[thread_id]
        return report

    async def __aenter__(self) -> ThreadManager:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown_all()

    # -- reads and metadata ----------------------------------------------------------------------

    async def read_thread(
        self, thread_id: str, *, include_history: bool = False, include_archived: bool = True
    ) -> StoredThread:
        """A thread as stored (with its history when asked). A loaded ephemeral thread is
        described from its settings and refuses ``include_history``."""
        thread_id = validate_thread_id(thread_id)
        thread = self._threads.get(thread_id)
        if thread is not None and thread.ephemeral:
            if include_history:
                raise InvalidRequest(f"thread {thread_id} is ephemeral: it has no persisted history")
            return thread.describe()
        return await self._store.read_thread(
            ReadThreadParams(thread_id, include_archived=include_archived, include_history=include_history)
        )

    async def update_thread_metadata(self, thread_id: str, patch: ThreadMetadataPatch) -> StoredThread:
        """Apply ``patch`` to a thread: through its live thread when loaded (after the metadata
        derived so far), straight to the store when cold."""
        thread_id = validate_thread_id(thread_id)
        thread = self._threads.get(thread_id)
        if thread is not None and thread.ephemeral:
            raise InvalidRequest(f"thread {thread_id} is ephemeral: it has no stored metadata")
        live = thread.live_thread if thread is not None else None
        if live is not None and not live.closed:
            return await live.update_metadata(patch)
        return await self._store.update_thread_metadata(
            UpdateThreadMetadataParams(thread_id, patch, include_archived=True)
        )
