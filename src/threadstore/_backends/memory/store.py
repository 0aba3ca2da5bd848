"""``InMemoryThreadStore``: the reference implementation of the contract, kept in the process.

Everything lives in dictionaries; nothing survives the process. It follows exactly the same
rules as the durable backends (it runs the same conformance suite), which makes it the store of
choice for tests and for ephemeral use.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from threadstore._backends.shared.history_pages import PagedHistory
from threadstore._backends.shared.live import LiveWriter, LiveWriterStore
from threadstore._backends.shared.query import decode_cursor, encode_cursor, matches_filters, snippet, sort_ms
from threadstore._backends.shared.resident_pages import MemoryTurnIndex
from threadstore._contract.first_line import adopt_first_line, initial_session_meta
from threadstore._contract.listing import (
    ListThreadsParams,
    SearchThreadsParams,
    StoredThreadSearchResult,
    ThreadPage,
    ThreadSearchPage,
)
from threadstore._contract.paging import ItemPage, ListItemsParams, ListTurnsParams, TurnPage
from threadstore._contract.patch import UNSET, ThreadMetadataPatch, UpdateThreadMetadataParams, apply_patch
from threadstore._contract.serialize import thread_from_fold, thread_to_json
from threadstore._contract.types import (
    CreateThreadParams,
    LoadThreadHistoryParams,
    ReadThreadParams,
    ResumeThreadParams,
    StoredThread,
    StoredThreadHistory,
)
from threadstore._rollout import forks
from threadstore._rollout.items import DEFAULT_MAX_ITEM_BYTES, Item, encode_item
from threadstore._rollout.policy import EventPersistenceMode
from threadstore._rollout.summary import ThreadSummary
from threadstore._rollout.texts import SearchTexts
from threadstore._time import format_rfc3339, utc_now
from threadstore.errors import Conflict, InvalidRequest, ThreadNotFound, Unsupported

__all__ = ["InMemoryThreadStore"]


@dataclass
class _Thread:
    thread_id: str
    created: datetime
    items: list[Item] = field(default_factory=list)
    stamps: list[str | None] = field(default_factory=list)
    summary: ThreadSummary = field(default_factory=ThreadSummary)
    overrides: ThreadMetadataPatch = field(default_factory=ThreadMetadataPatch)
    archived_at: datetime | None = None
    pages: MemoryTurnIndex = field(default_factory=MemoryTurnIndex)
    #: How many parent lines the records ``pages`` indexes start with (a fork by reference).
    pages_inherited: int = 0
    #: The idempotency keys of the appends stored, with their digests (kept with the thread).
    keys: dict[str, str] = field(default_factory=dict)


class _MemoryWriter(LiveWriter):
    def __init__(
        self,
        store: InMemoryThreadStore,
        thread_id: str,
        mode: EventPersistenceMode,
        meta: Item | None,
    ) -> None:
        super().__init__(thread_id, mode)
        self._store = store
        self._meta = meta  # owed session_meta of a new thread, until it materializes

    @property
    def materialized(self) -> bool:
        return self._meta is None

    @property
    def lines_so_far(self) -> ThreadSummary | None:
        thread = self._store._threads.get(self.thread_id) if self._meta is None else None
        return thread.summary if thread is not None else None

    def _materialize(self) -> _Thread:
        if self._meta is not None:
            thread = _Thread(self.thread_id, created=utc_now())
            self._store._threads[self.thread_id] = thread
            self._append(thread, [self._meta])
            # A fork by reference is described by its parent's lines too.
            for item, stamp in forks.inherited(thread.items[0], thread.stamps[0], self._store._lines):
                thread.summary.add(item, stamp)
            self._meta = None
        current = self._store._threads.get(self.thread_id)
        if current is None:  # deleted while live
            raise ThreadNotFound(self.thread_id)
        return current

    def _append(self, thread: _Thread, items: list[Item]) -> None:
        now = format_rfc3339(utc_now())
        for item in items:
            own = item.get("timestamp")
            stamp = own if isinstance(own, str) else now
            stored = {k: v for k, v in item.items() if k != "timestamp"} if "timestamp" in item else item
            thread.items.append(stored)
            thread.stamps.append(stamp)
            thread.summary.add(stored, stamp)

    async def write(self, items: list[Item]) -> None:
        meta = self._meta
        if meta is not None:
            meta, items = adopt_first_line(meta, items, self.thread_id)
        for item in (meta, *items) if meta is not None else items:
            encode_item(item, self._store.max_item_bytes)  # validate before changing anything
        self._meta = meta
        self._append(self._materialize(), items)

    async def applied(self, idempotency_key: str) -> str | None:
        thread = self._store._threads.get(self.thread_id) if self._meta is None else None
        return thread.keys.get(idempotency_key) if thread is not None else None

    async def write_once(self, items: list[Item], idempotency_key: str, digest: str) -> str | None:
        await self.write(items)
        self._materialize().keys[idempotency_key] = digest
        return None

    async def persist(self) -> None:
        self._materialize()

    async def flush(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def abandon(self) -> None:
        self._meta = None


class InMemoryThreadStore(LiveWriterStore):
    """A thread store in process memory (see the module documentation)."""

    def __init__(self, *, max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES) -> None:
        super().__init__()
        self.max_item_bytes = max_item_bytes
        self._threads: dict[str, _Thread] = {}

    # -- live writers ----------------------------------------------------------------------------

    async def _open_new_writer(self, params: CreateThreadParams) -> LiveWriter:
        if params.thread_id in self._threads:
            raise Conflict(f"thread {params.thread_id} already exists")
        meta = initial_session_meta(params, format_rfc3339(utc_now()))
        return _MemoryWriter(self, params.thread_id, params.event_persistence_mode, meta)

    async def _open_resumed_writer(self, params: ResumeThreadParams) -> LiveWriter:
        if params.rollout_path is not None:
            raise Unsupported("resume_thread by rollout_path (the in-memory store has no files)")
        self._get(params.thread_id, params.include_archived)
        return _MemoryWriter(self, params.thread_id, params.event_persistence_mode, None)

    # -- reads -----------------------------------------------------------------------------------

    def _get(self, thread_id: str, include_archived: bool) -> _Thread:
        thread = self._threads.get(thread_id)
        if thread is None:
            raise ThreadNotFound(thread_id)
        if thread.archived_at is not None and not include_archived:
            raise InvalidRequest(f"thread {thread_id} is archived")
        return thread

    def _lines(self, thread_id: str) -> tuple[list[Item], list[str | None]] | None:
        thread = self._threads.get(thread_id)
        return (thread.items, thread.stamps) if thread is not None else None

    def _history(self, thread: _Thread, resolve_forks: bool = True) -> StoredThreadHistory:
        items, stamps = list(thread.items), list(thread.stamps)
        if resolve_forks:
            items, stamps = forks.resolve(items, stamps, self._lines)
        return StoredThreadHistory(thread.thread_id, items, stamps)

    def _stored(
        self, thread: _Thread, include_history: bool = False, overrides: ThreadMetadataPatch | None = None
    ) -> StoredThread:
        stored = thread_from_fold(
            thread.summary,
            thread_id=thread.thread_id,
            fallback_time=thread.created,
            archived_at=thread.archived_at,
        )
        stored = apply_patch(stored, thread.overrides if overrides is None else overrides)
        if include_history:
            stored = dataclasses.replace(stored, history=self._history(thread))
        return stored

    async def _load_history(self, params: LoadThreadHistoryParams) -> StoredThreadHistory:
        thread = self._get(params.thread_id, params.include_archived)
        tail = params.tail
        if tail is not None and (tail < len(thread.items) or forks.fork_reference(thread.items) is None):
            return StoredThreadHistory(thread.thread_id, thread.items[-tail:], thread.stamps[-tail:])
        return self._history(thread, params.resolve_forks)

    async def _read_thread(self, params: ReadThreadParams) -> StoredThread:
        return self._stored(self._get(params.thread_id, params.include_archived), params.include_history)

    async def _paged(self, thread: _Thread) -> PagedHistory:
        """The thread's pages: over its own records, or for a fork by reference over the history
        it stands for (the index starts again when what it inherits changed, e.g. its parent
        arrived later)."""
        records = thread.items
        if forks.fork_reference(records) is not None:
            records = self._history(thread).items
        inherited = len(records) - len(thread.items)
        if inherited != thread.pages_inherited:
            thread.pages, thread.pages_inherited = MemoryTurnIndex(), inherited
        return await thread.pages.view(thread.thread_id, records)

    async def _list_turns(self, params: ListTurnsParams) -> TurnPage:
        thread = self._get(params.thread_id, params.include_archived)
        return await (await self._paged(thread)).list_turns(params)

    async def _list_items(self, params: ListItemsParams) -> ItemPage:
        thread = self._get(params.thread_id, params.include_archived)
        return await (await self._paged(thread)).list_items(params)

    def _ordered(self, archived: bool, sort_key: str, descending: bool, cursor: str | None) -> list[StoredThread]:
        anchor = decode_cursor(cursor)
        threads = [
            self._stored(t)
            for t in self._threads.values()
            if (t.archived_at is not None) == archived and t.summary.has_user_message
        ]
        threads.sort(key=lambda t: (sort_ms(t, sort_key), t.thread_id), reverse=descending)
        if anchor is not None:
            threads = [t for t in threads if anchor.before(sort_ms(t, sort_key), t.thread_id, descending)]
        return threads

    async def _list_threads(self, params: ListThreadsParams) -> ThreadPage:
        if params.cwd_filters is not None and not params.cwd_filters:
            decode_cursor(params.cursor)
            return ThreadPage(items=[], next_cursor=None)
        ordered = self._ordered(params.archived, params.sort_key, params.sort_direction == "desc", params.cursor)
        matching = [t for t in ordered if matches_filters(t, params)]
        page = matching[: params.page_size]
        next_cursor = None
        if len(matching) > params.page_size:
            last = page[-1]
            next_cursor = encode_cursor(
                last.updated_at if params.sort_key == "updated_at" else last.created_at, last.thread_id
            )
        return ThreadPage(items=page, next_cursor=next_cursor)

    async def _search_threads(self, params: SearchThreadsParams) -> ThreadSearchPage:
        ordered = self._ordered(params.archived, params.sort_key, params.sort_direction == "desc", params.cursor)
        listing = ListThreadsParams(allowed_sources=params.allowed_sources, labels=params.labels)
        hits: list[StoredThreadSearchResult] = []
        more = False
        for stored in ordered:
            if not matches_filters(stored, listing):
                continue
            found = self._first_snippet(self._threads[stored.thread_id], params.search_term)
            if found is None:
                continue
            if len(hits) == params.page_size:
                more = True
                break
            hits.append(StoredThreadSearchResult(stored, found))
        next_cursor = None
        if more:
            last = hits[-1].thread
            next_cursor = encode_cursor(
                last.updated_at if params.sort_key == "updated_at" else last.created_at, last.thread_id
            )
        return ThreadSearchPage(items=hits, next_cursor=next_cursor)

    def _first_snippet(self, thread: _Thread, term: str) -> str | None:
        texts = SearchTexts()  # the texts of the history as history edits left it
        texts.add_all(self._history(thread).items)
        for text in texts.texts:
            found = snippet(text, term)
            if found is not None:
                return found
        return None

    # -- updates ---------------------------------------------------------------------------------

    async def _update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        thread = self._threads.get(params.thread_id)
        if thread is None:
            writer = self._writers.get(params.thread_id)
            if writer is not None and not writer.closed and not writer.materialized:
                await self._persist_thread(params.thread_id)
                thread = self._threads[params.thread_id]
            else:
                raise ThreadNotFound(params.thread_id)
        if thread.archived_at is not None and not params.include_archived:
            raise InvalidRequest(f"thread {params.thread_id} is archived")
        patch: ThreadMetadataPatch = params.patch
        if patch.is_empty():
            return self._stored(thread)
        overrides = thread.overrides.merge(patch)
        explicit = patch.only("name", "memory_mode", "git_info")
        if not explicit.is_empty() and patch.updated_at is UNSET:
            overrides = overrides.merge(ThreadMetadataPatch(updated_at=utc_now()))
        # All or nothing: the thread must read (and encode) with the new overrides first.
        updated = self._stored(thread, overrides=overrides)
        thread_to_json(updated)
        thread.overrides = overrides
        return updated

    async def _archive_thread(self, thread_id: str) -> None:
        thread = self._threads.get(thread_id)
        if thread is None:
            raise ThreadNotFound(thread_id)
        if thread.archived_at is not None:
            raise InvalidRequest(f"thread {thread_id} is already archived")
        thread.archived_at = utc_now()

    async def _unarchive_thread(self, thread_id: str) -> StoredThread:
        thread = self._threads.get(thread_id)
        if thread is None:
            raise ThreadNotFound(thread_id)
        if thread.archived_at is None:
            raise InvalidRequest(f"no archived rollout found for thread id {thread_id}")
        thread.archived_at = None
        thread.overrides = thread.overrides.merge(ThreadMetadataPatch(updated_at=utc_now()))
        return self._stored(thread)

    async def _delete_thread(self, thread_id: str) -> None:
        if thread_id not in self._threads:
            raise ThreadNotFound(thread_id)
        del self._threads[thread_id]
        await self._discard_thread(thread_id)
