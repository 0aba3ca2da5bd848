"""``Thread``: the handle callers hold for one running thread."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from threadstore._contract.types import StoredThread
from threadstore._runtime.config import RUNTIME_VERSION, ThreadConfigSnapshot
from threadstore._runtime.errors import ThreadClosed, ThreadRuntimeError
from threadstore._runtime.events import Event, Submission
from threadstore._runtime.live_thread import LiveThread
from threadstore._runtime.session import Session
from threadstore._time import utc_now
from threadstore.errors import InvalidRequest

__all__ = ["Thread"]


class Thread:
    """One running thread: submit ops, read events, inspect its configuration, shut it down.

    Submission ids are an increasing counter (``"1"``, ``"2"`` ...); every event carries the id of
    the submission that caused it, and the first event, ``session_configured``, carries ``""``.
    Events are meant for a single consumer.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._ids = itertools.count(1)
        self._session_configured: dict[str, Any] | None = None
        #: When this handle was made (the thread was started or resumed in this process).
        self.started_at = utc_now()

    @property
    def thread_id(self) -> str:
        return self._session.thread_id

    @property
    def session_configured(self) -> dict[str, Any]:
        """The ``session_configured`` message the thread started with (historical settings)."""
        if self._session_configured is None:
            raise ThreadRuntimeError(f"thread {self.thread_id} has not delivered session_configured yet")
        return self._session_configured

    def _set_session_configured(self, msg: dict[str, Any]) -> None:
        self._session_configured = msg

    @property
    def live_thread(self) -> LiveThread | None:
        """The persistence handle (None for ephemeral threads)."""
        return self._session.live

    @property
    def ephemeral(self) -> bool:
        return self._session.live is None

    @property
    def rollout_path(self) -> str | None:
        """The live rollout file on a store with files, else None."""
        return self.config_snapshot().rollout_path

    @property
    def is_running(self) -> bool:
        """True while the session accepts ops."""
        return self._session.accepting and self._session.running

    @property
    def session(self) -> Session:
        return self._session

    def config_snapshot(self) -> ThreadConfigSnapshot:
        """The settings the thread runs with now."""
        return self._session.snapshot()

    def describe(self) -> StoredThread:
        """The thread as its settings describe it, for a thread with nothing stored (an
        ephemeral one, or one that has not materialized yet)."""
        snapshot = self.config_snapshot()
        return StoredThread(
            thread_id=self.thread_id,
            created_at=self.started_at,
            updated_at=self.started_at,
            rollout_path=snapshot.rollout_path,
            forked_from_id=snapshot.forked_from_thread_id,
            model_provider=snapshot.model_provider_id,
            model=snapshot.model,
            reasoning_effort=snapshot.reasoning_effort,
            cwd=snapshot.cwd,
            cli_version=RUNTIME_VERSION,
            source=snapshot.session_source,
            memory_mode=snapshot.memory_mode,
        )

    async def submit(self, op: Mapping[str, Any]) -> str:
        """Queue ``op`` (a Codex-shaped dict such as ``{"type": "interrupt"}``) and return its
        submission id. Raises :class:`ThreadClosed` after shutdown."""
        if not isinstance(op, Mapping) or not isinstance(op.get("type"), str):
            raise InvalidRequest("an op must be an object with a string 'type'")
        submission = Submission(str(next(self._ids)), dict(op))
        self._session.submit(submission)
        return submission.id

    async def steer(self, items: Sequence[Mapping[str, Any]], expected_turn_id: str) -> str:
        """Add input (``user_input`` items, e.g. ``{"type": "text", "text": "..."}``) to the
        running turn ``expected_turn_id`` and return its id: the input joins that turn's next
        model request (see :meth:`Session.steer` for the errors)."""
        return self._session.steer(list(items), expected_turn_id)

    async def next_event(self) -> Event:
        """The next event, waiting for it. Raises :class:`ThreadClosed` after the last one."""
        return await self._session.next_event()

    async def shutdown(self) -> None:
        """Submit ``shutdown`` and wait until the session has ended (its events stay readable).

        Raises :class:`ThreadRuntimeError` when persistence could not be shut down cleanly (the
        writer was then discarded, so nothing leaks)."""
        if self._session.accepting:
            with contextlib.suppress(ThreadClosed):
                await self.submit({"type": "shutdown"})
        await self._session.wait_terminated()
        error = self._session.shutdown_error
        if error is not None:
            raise ThreadRuntimeError(
                f"thread {self.thread_id} persistence did not shut down cleanly: {error}"
            ) from error

    async def close(self) -> None:
        """Close the op channel without a shutdown op and wait for the session to end: the
        running turn is aborted and persistence shut down (discarded if that fails)."""
        self._session.close_submissions()
        await self._session.wait_terminated()
