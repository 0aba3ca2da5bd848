"""``ThreadSessionStore``: the Claude Agent SDK ``SessionStore`` protocol on any thread store."""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from types import TracebackType
from typing import Any, Final, Self, cast

from claude_agent_sdk import fold_session_summary
from claude_agent_sdk.types import (
    SessionKey,
    SessionListSubkeysKey,
    SessionStoreEntry,
    SessionStoreListEntry,
    SessionSummaryEntry,
)

from threadstore import _json
from threadstore._backends.registry import open_store
from threadstore._contract.base import ThreadStore
from threadstore._contract.listing import ListThreadsParams
from threadstore._contract.patch import ThreadMetadataPatch, UpdateThreadMetadataParams
from threadstore._contract.thread import StoredThread
from threadstore._contract.types import (
    AppendThreadItemsParams,
    CreateThreadParams,
    LoadThreadHistoryParams,
    ReadThreadParams,
    ResumeThreadParams,
)
from threadstore._rollout.claude import entry_item, entry_of
from threadstore._time import now_rfc3339, parse_timestamp, to_ms, utc_now
from threadstore.errors import Conflict, InvalidRequest, ThreadNotFound
from threadstore.integrations.claude_agent_sdk._keys import (
    KIND,
    MAIN,
    PROJECT,
    SESSION,
    SUBAGENT,
    SUBPATH,
    Sidecar,
    TranscriptKey,
    decode_sidecar,
    sidecar_patch,
)

__all__ = ["ThreadSessionStore"]

#: How long an append waits, in all, for another process's writer of the same transcript.
WRITER_WAIT_S: Final = 10.0
#: How many transcripts' entry uuids an adapter remembers (the least recently used are forgotten).
REMEMBERED_TRANSCRIPTS: Final = 256
_PROVIDER: Final = "anthropic"
_ORIGINATOR: Final = "claude_agent_sdk"
_SOURCE: Final = {"custom": "claude-code"}


def _uuid(entry: Mapping[str, Any]) -> str | None:
    value = entry.get("uuid")
    return value if isinstance(value, str) and value else None


def _ms(stamp: str | None) -> int | None:
    moment = parse_timestamp(stamp)
    return None if moment is None else to_ms(moment)


class ThreadSessionStore:
    """A Claude Agent SDK ``SessionStore`` that keeps each transcript as a thread of ``store``.

    ``store`` is a :class:`~threadstore.ThreadStore` or a store URL (``local:PATH``,
    ``postgresql://...``, ``grpc://HOST:PORT``, ``memory:``); a store opened from a URL is
    closed by :meth:`close`, one passed in is the caller's. Every method is a coroutine of the
    event loop the store lives on.

    The threads are ordinary threads (listed, searched, shown, exported, copied): each entry is one
    item whose payload is the entry unchanged (:mod:`threadstore._rollout.claude`), and the labels
    ``claude.project``, ``claude.session``, ``claude.kind`` and ``claude.subpath`` name the key
    (:mod:`threadstore.integrations.claude_agent_sdk._keys`). A subagent transcript is a thread of
    its own whose ``parent_thread_id`` is its session's thread.

    Contract:

    * :meth:`append` stores a batch whole or not at all, after what earlier appends stored
      (appends of one transcript are serialized in this adapter, and across processes by the
      store's single live writer: an append waits up to :data:`WRITER_WAIT_S` seconds for
      another process's, then raises ``Conflict``). It returns once the entries are durable to
      the store's standard, and holds no writer afterwards.
    * An entry whose ``uuid`` the transcript already holds is not stored again (a retried batch,
      an imported session imported twice); entries without a ``uuid`` are always appended, except
      that a batch sent again whole after a failure is recognised by the store's idempotency key.
    * :meth:`load` returns the entries equal to what was appended, in order, with their keys in
      the same order; None for a key never written (or deleted).
    * The summary sidecar of a main transcript is folded inside the append, under the writer;
      its ``mtime`` and :meth:`list_sessions`' are the thread's last line time, so a sidecar a
      failed append left behind reads as stale and the SDK rereads that session.
    * :meth:`list_sessions`, :meth:`list_session_summaries` and :meth:`list_subkeys` are label
      queries, never scans of every thread. Archived threads still load but are not listed.
    """

    def __init__(self, store: ThreadStore | str) -> None:
        if isinstance(store, str):
            self._store = open_store(store)
            self._owned = True
        elif isinstance(store, ThreadStore):
            self._store = store
            self._owned = False
        else:
            raise InvalidRequest(f"store must be a ThreadStore or a store URL, got {type(store).__name__}")
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        #: thread id -> (mtime of the last line, the uuids of the transcript's entries).
        self._uuids: OrderedDict[str, tuple[int, set[str]]] = OrderedDict()

    @property
    def store(self) -> ThreadStore:
        """The thread store this adapter writes to."""
        return self._store

    async def close(self) -> None:
        """Close the store if this adapter opened it from a URL. Idempotent."""
        if self._owned:
            await self._store.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- the SessionStore protocol -----------------------------------------------------------

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        """Mirror a batch of transcript entries (see the class documentation)."""
        k = TranscriptKey.of(cast(Mapping[str, Any], key))
        batch = [cast(dict[str, Any], e) for e in entries]
        for index, entry in enumerate(batch):
            if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
                raise InvalidRequest(f"entry {index} is not an object with a string 'type'")
        if not batch:
            return
        async with self._transcript(k.thread_id):
            resumed = await self._open_writer(k, batch)
            try:
                await self._append_open(k, batch, resumed)
                await self._store.shutdown_thread(k.thread_id)
            except BaseException:
                await self._store.discard_thread(k.thread_id)  # what was stored stays
                raise

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        """The transcript's entries as appended, or None when it was never written."""
        k = TranscriptKey.of(cast(Mapping[str, Any], key))
        try:
            history = await self._store.load_history(LoadThreadHistoryParams(k.thread_id, include_archived=True))
        except ThreadNotFound:
            return None
        entries = [e for e in (entry_of(item) for item in history.items) if e is not None]
        if history.timestamps:
            last = _ms(history.timestamps[-1])
            if last is not None:
                self._remember(k.thread_id, last, {u for u in map(_uuid, entries) if u})
        return cast(list[SessionStoreEntry], entries)

    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        """The main transcripts of a project, with the time of each one's last line (epoch ms)."""
        threads = await self._threads({PROJECT: _text(project_key, "project_key"), KIND: MAIN})
        return [{"session_id": t.labels[SESSION], "mtime": to_ms(t.updated_at)} for t in threads]

    async def list_session_summaries(self, project_key: str) -> list[SessionSummaryEntry]:
        """The summary sidecars of a project's main transcripts (see the class documentation)."""
        threads = await self._threads({PROJECT: _text(project_key, "project_key"), KIND: MAIN})
        summaries: list[SessionSummaryEntry] = []
        for thread in threads:
            sidecar = decode_sidecar(thread.labels)
            if sidecar is not None:
                summaries.append({"session_id": thread.labels[SESSION], "mtime": sidecar.mtime, "data": sidecar.data})
        return summaries

    async def delete(self, key: SessionKey) -> None:
        """Delete a transcript; deleting a main transcript deletes its subagent transcripts too.
        Deleting what does not exist does nothing."""
        k = TranscriptKey.of(cast(Mapping[str, Any], key))
        doomed = [k.thread_id]
        if k.main:
            labels = {PROJECT: k.project_key, SESSION: k.session_id, KIND: SUBAGENT}
            doomed += [t.thread_id for t in await self._threads(labels, archived_too=True)]
        for thread_id in doomed:
            async with self._transcript(thread_id):
                self._uuids.pop(thread_id, None)
                with suppress(ThreadNotFound):
                    await self._store.delete_thread(thread_id)

    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        """The subpaths of a session's subagent transcripts."""
        k = TranscriptKey.of(cast(Mapping[str, Any], key))
        labels = {PROJECT: k.project_key, SESSION: k.session_id, KIND: SUBAGENT}
        return [t.labels[SUBPATH] for t in await self._threads(labels) if SUBPATH in t.labels]

    # -- appending ---------------------------------------------------------------------------

    async def _open_writer(self, k: TranscriptKey, batch: Sequence[Mapping[str, Any]]) -> bool:
        """Become the transcript's live writer: resume its thread (True) or create it (False)."""
        delay, waited = 0.01, 0.0
        while True:
            try:
                await self._store.resume_thread(ResumeThreadParams(k.thread_id, include_archived=True))
                return True
            except ThreadNotFound:
                try:
                    await self._store.create_thread(self._create_params(k, batch))
                    return False
                except Conflict:
                    pass  # created meanwhile by another writer: resume it
            except Conflict:
                if waited >= WRITER_WAIT_S:
                    raise
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.5)

    def _create_params(self, k: TranscriptKey, batch: Sequence[Mapping[str, Any]]) -> CreateThreadParams:
        cwd = next((e["cwd"] for e in batch if isinstance(e.get("cwd"), str) and e["cwd"]), "")
        # A session imported later keeps the time its first entry was written (never a future one).
        times = [t for t in (parse_timestamp(e.get("timestamp")) for e in batch) if t is not None]
        created = min([*times, utc_now()])
        version = next((e["version"] for e in batch if isinstance(e.get("version"), str)), "")
        if k.main:
            source: Any = _SOURCE
            parent = None
        else:
            parent = k.session_thread_id
            source = {"subagent": {"thread_spawn": {"parent_thread_id": parent, "depth": 1, "agent_path": k.subpath}}}
        return CreateThreadParams(
            thread_id=k.thread_id,
            cwd=cwd,
            model_provider=_PROVIDER,
            source=source,
            parent_thread_id=parent,
            originator=_ORIGINATOR,
            cli_version=version,
            labels=k.labels(),
            created_at=created,
        )

    async def _append_open(self, k: TranscriptKey, batch: list[dict[str, Any]], resumed: bool) -> None:
        """Append ``batch`` to the transcript this adapter now writes, then fold its sidecar."""
        thread = await self._read(k.thread_id) if resumed else None
        last = to_ms(thread.updated_at) if thread is not None else None
        known = await self._known_uuids(k, last)
        fresh: list[dict[str, Any]] = []
        for entry in batch:
            entry_uuid = _uuid(entry)
            if entry_uuid is not None:
                if entry_uuid in known:
                    continue
                known.add(entry_uuid)
            fresh.append(entry)
        if fresh:
            stamp = now_rfc3339()
            items = [entry_item(e, stamp) for e in fresh]
            retry_key = _retry_key(batch)
            await self._store.append_items(AppendThreadItemsParams(k.thread_id, items, idempotency_key=retry_key))
            await self._store.flush_thread(k.thread_id)
            last = _ms(stamp)
            if retry_key is not None and len(fresh) < len(batch):
                # Part of the batch was stored before: the store may have taken it for the retry
                # it is and stored nothing. Its last line says which.
                last = to_ms((await self._read(k.thread_id)).updated_at)
        if last is None:
            return
        self._remember(k.thread_id, last, known)
        if k.main:
            await self._fold_sidecar(k, thread, fresh, last)

    async def _fold_sidecar(
        self, k: TranscriptKey, before: StoredThread | None, fresh: list[dict[str, Any]], last: int
    ) -> None:
        """Bring the sidecar of a main transcript up to ``last``: fold ``fresh`` into the stored
        one when it covered everything before them, else fold the whole transcript again."""
        previous = decode_sidecar(before.labels) if before is not None else None
        key: SessionKey = {"project_key": k.project_key, "session_id": k.session_id}
        if before is None or (previous is not None and previous.mtime == to_ms(before.updated_at)):
            if not fresh and previous is not None:
                return
            prev: SessionSummaryEntry | None = None
            if previous is not None:
                prev = {"session_id": k.session_id, "mtime": previous.mtime, "data": previous.data}
            summary = fold_session_summary(prev, key, cast(list[SessionStoreEntry], fresh))
        else:
            history = await self._store.load_history(LoadThreadHistoryParams(k.thread_id, include_archived=True))
            entries = [e for e in (entry_of(item) for item in history.items) if e is not None]
            summary = fold_session_summary(None, key, cast(list[SessionStoreEntry], entries))
        labels = before.labels if before is not None else {}
        patch = sidecar_patch(Sidecar(last, summary["data"]), labels)
        await self._store.update_thread_metadata(
            UpdateThreadMetadataParams(k.thread_id, ThreadMetadataPatch(labels=patch), include_archived=True)
        )

    async def _known_uuids(self, k: TranscriptKey, last: int | None) -> set[str]:
        """The uuids the transcript holds (a copy): remembered when this adapter wrote or read
        it last, else read from the store."""
        if last is None:
            return set()
        remembered = self._uuids.get(k.thread_id)
        if remembered is not None and remembered[0] == last:
            self._uuids.move_to_end(k.thread_id)
            return set(remembered[1])
        history = await self._store.load_history(LoadThreadHistoryParams(k.thread_id, include_archived=True))
        return {u for u in (_uuid(e) for e in map(entry_of, history.items) if e is not None) if u}

    def _remember(self, thread_id: str, last: int, uuids: set[str]) -> None:
        self._uuids[thread_id] = (last, uuids)
        self._uuids.move_to_end(thread_id)
        while len(self._uuids) > REMEMBERED_TRANSCRIPTS:
            self._uuids.popitem(last=False)

    # -- helpers -----------------------------------------------------------------------------

    async def _read(self, thread_id: str) -> StoredThread:
        return await self._store.read_thread(ReadThreadParams(thread_id, include_archived=True))

    async def _threads(self, labels: dict[str, str], *, archived_too: bool = False) -> list[StoredThread]:
        """Every thread carrying ``labels`` (a filtered query, page by page)."""
        found: list[StoredThread] = []
        for archived in (False, True) if archived_too else (False,):
            cursor: str | None = None
            while True:
                page = await self._store.list_threads(
                    ListThreadsParams(page_size=1000, cursor=cursor, archived=archived, labels=labels)
                )
                found.extend(page.items)
                cursor = page.next_cursor
                if cursor is None or not page.items:
                    break
        return found

    @asynccontextmanager
    async def _transcript(self, thread_id: str) -> AsyncIterator[None]:
        """Serialize this adapter's work on one transcript."""
        lock, users = self._locks.get(thread_id, (asyncio.Lock(), 0))
        self._locks[thread_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[thread_id]
            if users == 1:
                del self._locks[thread_id]
            else:
                self._locks[thread_id] = (lock, users - 1)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{what} must be a non-empty string")
    return value


def _retry_key(batch: Sequence[Mapping[str, Any]]) -> str | None:
    """The idempotency key of a batch that carries a uuid (sending it again is a retry); None for
    a batch without any (two such batches may rightly be equal)."""
    if not any(_uuid(e) for e in batch):
        return None
    try:
        digest = hashlib.sha256(_json.dumps(list(batch))).hexdigest()
    except ValueError as exc:
        raise InvalidRequest(f"an entry is not JSON: {exc}") from None
    return f"claude:{digest}"

