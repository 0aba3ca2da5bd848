"""Thread ids: every operation that takes one refuses a malformed id with ``InvalidRequest``
(nothing that could name a path gets through) and takes an upper-case UUID as the same thread
in lower case."""

from __future__ import annotations

import pytest

from threadstore._contract.base import ThreadStore
from threadstore._contract.types import ReadThreadByRolloutPathParams, ReadThreadParams, ResumeThreadParams
from threadstore.errors import InvalidRequest, ThreadNotFound, Unsupported
from threadstore.testing._backend import Backend
from threadstore.testing._builders import append, create_params, new_thread, read_items, turn

BAD_IDS = ("../../etc/passwd", "nope", "", "01a2b3c4-0000-7000-8000-00000000000g", "x" * 5000)


class IdTests:
    """Id handling (see the module documentation)."""

    async def test_malformed_ids_are_invalid_requests_everywhere(self, store: ThreadStore) -> None:
        real = await new_thread(store)
        for bad in BAD_IDS:
            for op in (
                store.persist_thread,
                store.flush_thread,
                store.shutdown_thread,
                store.discard_thread,
                store.archive_thread,
                store.unarchive_thread,
                store.delete_thread,
            ):
                with pytest.raises(InvalidRequest):
                    await op(bad)
            with pytest.raises(InvalidRequest):
                ReadThreadParams(thread_id=bad)
        # Nothing happened to the real thread.
        assert (await store.read_thread(ReadThreadParams(real))).preview == "hello"

    async def test_upper_case_ids_name_the_same_thread(self, store: ThreadStore) -> None:
        params = create_params()
        upper = params.thread_id.upper()
        await store.create_thread(create_params(upper))
        await append(store, upper, turn("shout"))
        await store.flush_thread(upper)
        await store.persist_thread(upper)
        await store.shutdown_thread(upper)
        thread = await store.read_thread(ReadThreadParams(upper))
        assert thread.thread_id == params.thread_id
        await store.resume_thread(ResumeThreadParams(upper))
        await store.shutdown_thread(params.thread_id)
        await store.archive_thread(upper)
        assert (await store.unarchive_thread(upper)).thread_id == params.thread_id
        assert (await read_items(store, upper))[1:] == turn("shout")
        await store.delete_thread(upper)
        with pytest.raises(ThreadNotFound):
            await store.read_thread(ReadThreadParams(params.thread_id))

    async def test_unknown_well_formed_ids_are_not_found(self, store: ThreadStore) -> None:
        unknown = create_params().thread_id
        for op in (store.archive_thread, store.unarchive_thread, store.delete_thread):
            with pytest.raises(ThreadNotFound):
                await op(unknown)

    async def test_paths_that_are_not_rollouts_are_refused(self, backend: Backend, store: ThreadStore) -> None:
        for path in ("../../etc/passwd", "/etc/passwd", "sessions"):
            params = ReadThreadByRolloutPathParams(rollout_path=path)
            expected = InvalidRequest if backend.capabilities.rollout_files else Unsupported
            with pytest.raises(expected):
                await store.read_thread_by_rollout_path(params)
