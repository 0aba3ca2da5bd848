"""``ThreadSession``: an OpenAI Agents SDK session kept as a thread of a thread store."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, TypeVar, cast

from agents.items import TResponseInputItem
from agents.memory import SessionSettings

from threadstore._contract.base import ThreadStore
from threadstore._contract.thread import SessionSource
from threadstore._contract.types import (
    MAX_TAIL,
    AppendThreadItemsParams,
    CreateThreadParams,
    LoadThreadHistoryParams,
)
from threadstore._rollout.edits import history_cleared, items_popped, scan_tail
from threadstore._rollout.items import Item
from threadstore.errors import InvalidRequest, ThreadNotFound
from threadstore.integrations.openai_agents._lines import as_lines, visible_items
from threadstore.integrations.openai_agents._loop import StoreLoop
from threadstore.integrations.openai_agents._writer import append_alone, hold_writer

__all__ = ["DEFAULT_SOURCE", "SESSION_ID_LABEL", "THREAD_ID_NAMESPACE", "ThreadSession", "session_thread_id"]

THREAD_ID_NAMESPACE: Final = uuid.UUID("6f1d0c5e-8a3b-5c1e-9f47-2b0d7e4a9c31")
"""The UUID namespace of session thread ids: a session's thread id is
``uuid5(THREAD_ID_NAMESPACE, session_id)``."""

SESSION_ID_LABEL: Final = "openai_agents.session_id"
"""The label that keeps a session's ``session_id`` on its thread (when it fits in a label:
1,000 characters at most)."""

DEFAULT_SOURCE: Final[dict[str, str]] = {"custom": "openai_agents"}
"""The ``session_meta.source`` of a session's thread unless ``source=`` says otherwise."""

_MAX_LABEL_VALUE: Final = 1000

T = TypeVar("T")


def session_thread_id(session_id: str) -> str:
    """The id of the thread that keeps ``session_id`` (the same for every process, forever)."""
    if not isinstance(session_id, str):
        raise InvalidRequest(f"session_id must be a string, got {type(session_id).__name__}")
    return str(uuid.uuid5(THREAD_ID_NAMESPACE, session_id))


def _sdk_version() -> str:
    try:
        return importlib.metadata.version("openai-agents")
    except importlib.metadata.PackageNotFoundError:
        return ""


def _settings(value: SessionSettings | Mapping[str, Any] | None) -> SessionSettings:
    if value is None:
        return SessionSettings()
    if isinstance(value, SessionSettings):
        return value
    if isinstance(value, Mapping):
        return SessionSettings(**dict(value))
    raise InvalidRequest(f"session_settings must be SessionSettings or a mapping, got {type(value).__name__}")


async def _whole(store: ThreadStore, thread_id: str) -> list[dict[str, Any]]:
    history = await store.load_history(LoadThreadHistoryParams(thread_id, include_archived=True))
    return visible_items(history.items)


async def read_items(store: ThreadStore, thread_id: str, limit: int | None, per_item: float = 2.0) -> list[dict[str, Any]]:
    """The session's items (the last ``limit`` of them), [] for a thread that does not exist.

    With a limit only the tail of the thread is read: about ``per_item * limit`` lines first (a
    hint: a message and its event take two lines, a tool call one), twice as many each time
    history edits hide what was read, and the whole history only when a rollback marker (Codex's,
    which removes whole turns) is met."""
    return (await read_tail_items(store, thread_id, limit, per_item))[0]


async def read_tail_items(
    store: ThreadStore, thread_id: str, limit: int | None, per_item: float = 2.0
) -> tuple[list[dict[str, Any]], float]:
    """:func:`read_items`, and the lines per item its answer took (the next call's hint)."""
    try:
        if limit is None:
            return await _whole(store, thread_id), per_item
        lines = max(8, int(limit * per_item) + 8)  # slack: where the tail starts cuts a turn
        while True:
            tail = min(lines, MAX_TAIL)
            history = await store.load_history(LoadThreadHistoryParams(thread_id, include_archived=True, tail=tail))
            scan = scan_tail(history.items, limit)
            if scan.needs_full:
                return (await _whole(store, thread_id))[-limit:], per_item
            if scan.settled or len(history.items) < tail or tail == MAX_TAIL:
                found = [line["payload"] for line in scan.items if isinstance(line.get("payload"), dict)]
                hint = min(8.0, max(1.0, scan.scanned / len(found))) if found else per_item
                return found, hint
            lines *= 2
    except ThreadNotFound:
        return [], per_item


class ThreadSession:
    """An OpenAI Agents SDK ``Session`` whose history is a thread of a thread store.

    ``session_id`` is any string; the thread's id is :func:`session_thread_id` of it (a UUID),
    and the thread carries the session id as its label :data:`SESSION_ID_LABEL`. ``store`` is a
    :class:`~threadstore.ThreadStore` (the caller keeps it and closes it) or a store URL as the
    command line takes it (``memory:``, ``local:PATH``, ``postgresql://...``,
    ``grpc://HOST:PORT``; opened with ``store_options`` in an event loop of the session's own,
    so that any loop may call it, ``Runner.run_sync``'s new loop per run included; closed by
    :meth:`close`: see :mod:`~threadstore.integrations.openai_agents._loop`).

    The thread is an ordinary one: its first ``session_meta`` names ``source`` (default
    :data:`DEFAULT_SOURCE`), ``cwd`` (default: the working directory) and ``model_provider``
    (default ``openai``, the SDK's). Items are stored as given (see
    :mod:`~threadstore.integrations.openai_agents._lines`); ``pop_item`` and ``clear_session``
    append history-edit markers that every reader honours, and never rewrite a line.

    Concurrency: every mutation holds the thread's writer for its own duration only (see
    :mod:`~threadstore.integrations.openai_agents._writer`), so sessions of one ``session_id``
    in many tasks, processes or machines never surface ``Conflict`` (unless the thread stays
    busy for ``wait_timeout`` seconds) and never lose an item: each ``add_items`` batch is
    stored whole, batches in some order. A mutation, once started, finishes even if its caller
    is cancelled. Reads take no writer.
    """

    session_id: str
    session_settings: SessionSettings | None

    def __init__(
        self,
        session_id: str,
        store: ThreadStore | str,
        *,
        session_settings: SessionSettings | Mapping[str, Any] | None = None,
        cwd: str | None = None,
        model_provider: str = "openai",
        source: SessionSource | None = None,
        wait_timeout: float = 60.0,
        store_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.session_id = session_id
        self.thread_id = session_thread_id(session_id)
        self.session_settings = _settings(session_settings)
        if wait_timeout <= 0:
            raise InvalidRequest("wait_timeout must be positive")
        self.wait_timeout = float(wait_timeout)
        labels = {SESSION_ID_LABEL: session_id} if 0 < len(session_id) <= _MAX_LABEL_VALUE else {}
        self._create = CreateThreadParams(
            thread_id=self.thread_id,
            cwd=cwd if cwd is not None else os.getcwd(),
            model_provider=model_provider,
            source=source if source is not None else dict(DEFAULT_SOURCE),
            originator="openai_agents",
            cli_version=_sdk_version(),
            labels=labels,
        )
        self._given: ThreadStore | None = None
        self._loop: StoreLoop | None = None
        #: Lines per item the last tail read took: how many lines the next one asks for first.
        self._per_item = 2.0
        if isinstance(store, ThreadStore):
            self._given = store
        elif isinstance(store, str):
            self._loop = StoreLoop(store, store_options or {})
        else:
            raise InvalidRequest(f"store must be a ThreadStore or a store URL, got {type(store).__name__}")

    # -- the store -------------------------------------------------------------------------------

    async def _run(self, work: Callable[[ThreadStore], Coroutine[Any, Any, T]]) -> T:
        """Run ``work`` on the store: directly on a store object, in the store's own loop for a
        store this session opened from a URL."""
        if self._given is not None:
            return await work(self._given)
        assert self._loop is not None
        return await self._loop.run(work)

    async def close(self) -> None:
        """Close the store this session opened from a URL (a store given as an object is the
        caller's to close). Idempotent."""
        if self._loop is not None:
            await asyncio.to_thread(self._loop.close)

    async def __aenter__(self) -> ThreadSession:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- the Session protocol --------------------------------------------------------------------

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The session's items in order, as ``add_items`` received them; the last ``limit`` of
        them (default: ``session_settings.limit``; None means all, 0 or less none). A session
        never written has none."""
        wanted = limit if limit is not None else (self.session_settings.limit if self.session_settings else None)
        if wanted is not None and wanted <= 0:
            return []
        found, self._per_item = await self._run(
            lambda store: read_tail_items(store, self.thread_id, wanted, self._per_item)
        )
        return cast(list[TResponseInputItem], found)

    async def add_items(self, items: Sequence[TResponseInputItem] | Sequence[Mapping[str, Any]]) -> None:
        """Append ``items`` in order, all or none (the first call creates the thread). Any JSON
        objects are taken (the SDK's input items are typed dicts)."""
        if not items:
            return
        lines = as_lines(list(items))
        # The lines are final as built here: no persistence policy may drop a session item.
        params = AppendThreadItemsParams(self.thread_id, lines, exact=True, idempotency_key=uuid.uuid4().hex)

        await self._run(lambda store: append_alone(store, self._create, params, wait_timeout=self.wait_timeout))

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove the most recent item and return it (None when there is none): a
        ``thread_items_popped`` marker is appended; the item's line stays in the thread."""
        return cast(TResponseInputItem | None, await self._run(self._pop))

    async def _pop(self, store: ThreadStore) -> dict[str, Any] | None:
        if not await read_items(store, self.thread_id, 1):
            return None  # nothing to pop: take no writer, create nothing

        async def pop() -> dict[str, Any] | None:
            last = await read_items(store, self.thread_id, 1)  # the writer is ours: nothing moves
            if not last:
                return None
            await store.append_items(AppendThreadItemsParams(self.thread_id, [items_popped(1)], exact=True))
            return last[0]

        return await hold_writer(store, self._create, pop, wait_timeout=self.wait_timeout)

    async def clear_session(self) -> None:
        """Remove every item: a ``thread_history_cleared`` marker is appended (nothing is
        deleted; the thread stays, out of listings until a new user message)."""
        await self._run(self._clear)

    async def _clear(self, store: ThreadStore) -> None:
        if not await read_items(store, self.thread_id, 1):
            return
        marker: list[Item] = [history_cleared()]

        async def clear() -> None:
            await store.append_items(AppendThreadItemsParams(self.thread_id, marker, exact=True))

        await hold_writer(store, self._create, clear, wait_timeout=self.wait_timeout)
