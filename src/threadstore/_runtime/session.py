"""The session: one asyncio task per thread that turns ops into turns and events.

Ops are processed strictly in submission order by a single loop. A user turn runs in its own
task so that an ``interrupt`` (or ``shutdown``) can reach it while the model streams. A
``user_input`` op that arrives during a turn is queued and starts its own turn when the running
one ends; :meth:`Session.steer` (``turn/steer``) instead adds input to the running turn: it is
recorded after the model's current answer and the model is asked again, within the same turn,
with the steered input in its request (see :mod:`.turn`). Events go through the session's
:class:`~.journal.Journal`: persisted through the thread's :class:`LiveThread` *before* they are
delivered, except ``session_configured`` and ``shutdown_complete``, which are never persisted
and are delivered directly.

A turn is run by :class:`~.turn_runner.TurnRunner` (it says what is persisted, in which
order). Rollback appends a ``thread_rolled_back`` marker (nothing is deleted). Shutdown aborts
the running turn, shuts persistence down (an ``error`` event if that fails, and the writer is then discarded so it
never leaks), and delivers ``shutdown_complete``. When the submission channel is closed without
a shutdown op, persistence is shut down all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any, Final

from threadstore._contract.types import MemoryMode, SessionSource
from threadstore._rollout.items import Item, history_mode, thread_rolled_back
from threadstore._runtime.config import ThreadConfig, ThreadConfigSnapshot
from threadstore._runtime.errors import SteerRejected, ThreadClosed
from threadstore._runtime.events import INITIAL_SUBMIT_ID, Event, Submission
from threadstore._runtime.history import event_messages, last_token_usage, reconstruct_model_history
from threadstore._runtime.journal import Journal
from threadstore._runtime.live_thread import LiveThread
from threadstore._runtime.models.base import ModelClient
from threadstore._runtime.protocol import (
    InvalidOp,
    UserInput,
    error_msg,
    parse_user_input,
)
from threadstore._runtime.turn import Turn
from threadstore._runtime.turn_runner import TurnRunner
from threadstore.errors import InvalidRequest, ThreadStoreError

__all__ = ["Session"]

logger: Final = logging.getLogger("threadstore.runtime")


class Session:
    """Runs one thread (see the module documentation). Built and started by the manager."""

    def __init__(
        self,
        *,
        thread_id: str,
        config: ThreadConfig,
        model: ModelClient,
        live: LiveThread | None,
        source: SessionSource = "cli",
        initial_items: Sequence[Item] = (),
        forked_from_id: str | None = None,
        rollout_path: str | None = None,
        thread_name: str | None = None,
    ) -> None:
        if config.model is None or config.model_provider is None:
            raise ValueError("Session needs a config whose model and model_provider are resolved")
        self.thread_id = thread_id
        self._config = config
        self._model = model
        self._live = live
        self._journal = Journal(thread_id, live, reconstruct_model_history(initial_items))
        self._source = source
        self._forked_from_id = forked_from_id
        self._rollout_path = rollout_path
        self._thread_name = thread_name
        self._memory_mode: MemoryMode = config.memory_mode
        self._initial_messages = event_messages(initial_items) if initial_items else None
        paginated = history_mode(initial_items, thread_id) == "paginated"
        self._turns = TurnRunner(self._journal, model, config, last_token_usage(initial_items), paginated=paginated)
        self._ops: asyncio.Queue[Submission | None] = asyncio.Queue()
        self._pending: deque[tuple[str, UserInput]] = deque()
        self._active: Turn | None = None
        self._runner: asyncio.Task[None] | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._accepting = True
        self._terminated = asyncio.Event()
        #: Set when persistence could not be shut down cleanly (the writer was then discarded).
        self.shutdown_error: BaseException | None = None

    # -- public surface --------------------------------------------------------------------------

    @property
    def live(self) -> LiveThread | None:
        return self._live

    @property
    def running(self) -> bool:
        """True until the loop has ended."""
        return not self._terminated.is_set()

    @property
    def accepting(self) -> bool:
        return self._accepting

    @property
    def model_history(self) -> list[dict[str, Any]]:
        """A copy of the model-visible history the next turn will send."""
        return list(self._journal.history)

    def snapshot(self) -> ThreadConfigSnapshot:
        config = self._config
        return ThreadConfigSnapshot(
            thread_id=self.thread_id,
            model=config.model or "",
            model_provider_id=config.model_provider or "",
            cwd=config.cwd,
            approval_policy=config.approval_policy,
            sandbox_policy=dict(config.sandbox_policy),
            reasoning_effort=config.reasoning_effort,
            ephemeral=config.ephemeral,
            session_source=self._source,
            forked_from_thread_id=self._forked_from_id,
            memory_mode=self._memory_mode,
            base_instructions=config.base_instructions,
            event_persistence_mode=config.event_persistence_mode,
            rollout_path=self._rollout_path,
        )

    def start(self) -> None:
        """Deliver ``session_configured`` and start the op loop."""
        if self._loop_task is not None:
            return
        self._emit(Event(INITIAL_SUBMIT_ID, self._session_configured()))
        self._loop_task = asyncio.create_task(self._run(), name=f"threadstore-session-{self.thread_id}")

    def submit(self, submission: Submission) -> None:
        """Queue an op. Raises :class:`ThreadClosed` once the session stopped accepting ops."""
        if not self._accepting:
            raise ThreadClosed(self.thread_id)
        self._ops.put_nowait(submission)

    def close_submissions(self) -> None:
        """Close the op channel: the loop finishes the queued ops, aborts a running turn and shuts
        persistence down (without ``shutdown_complete``)."""
        if self._accepting:
            self._accepting = False
            self._ops.put_nowait(None)

    async def next_event(self) -> Event:
        """The next event; raises :class:`ThreadClosed` after the last one was delivered."""
        return await self._journal.next_event()

    def steer(self, items: object, expected_turn_id: str) -> str:
        """Add input (``user_input`` items) to the running turn and return the turn's id.

        Raises :class:`InvalidRequest` for malformed or empty input, :class:`SteerRejected` when
        no turn is running (or it is already ending) or the running turn is not
        ``expected_turn_id``, and :class:`ThreadClosed` once the session stopped accepting ops."""
        if not self._accepting:
            raise ThreadClosed(self.thread_id)
        try:
            parsed = parse_user_input({"items": items})
        except InvalidOp as exc:
            raise InvalidRequest(str(exc)) from None
        turn = self._active
        if turn is None or not turn.steerable:
            raise SteerRejected("no active turn to steer")
        if turn.turn_id != expected_turn_id:
            raise SteerRejected(f"expected active turn id `{expected_turn_id}` but found `{turn.turn_id}`")
        turn.steer(parsed)
        return turn.turn_id

    async def wait_terminated(self) -> None:
        await self._terminated.wait()

    def abort(self) -> None:
        """Stop the loop immediately without touching persistence (failed start-up only)."""
        self._accepting = False
        if self._loop_task is not None:
            self._loop_task.cancel()
        else:
            self._finish()

    # -- loop ------------------------------------------------------------------------------------

    def _session_configured(self) -> dict[str, Any]:
        config = self._config
        msg: dict[str, Any] = {
            "type": "session_configured",
            "session_id": self.thread_id,
            "forked_from_id": self._forked_from_id,
            "thread_name": self._thread_name,
            "model": config.model,
            "model_provider_id": config.model_provider,
            "approval_policy": config.approval_policy,
            "sandbox_policy": dict(config.sandbox_policy),
            "cwd": config.cwd,
            "reasoning_effort": config.reasoning_effort,
            "history_log_id": 0,
            "history_entry_count": 0,
            "initial_messages": self._initial_messages,
        }
        if self._rollout_path is not None:
            msg["rollout_path"] = self._rollout_path
        return msg

    def _emit(self, event: Event) -> None:
        self._journal.emit(event)

    def _finish(self) -> None:
        self._accepting = False
        if not self._terminated.is_set():
            self._journal.end()
            self._terminated.set()

    async def _run(self) -> None:
        try:
            while True:
                submission = await self._ops.get()
                if submission is None:
                    await self._teardown(INITIAL_SUBMIT_ID, complete=False)
                    return
                if submission.op.get("type") == "shutdown":
                    self._accepting = False
                    await self._teardown(submission.id, complete=True)
                    return
                await self._dispatch(submission)
        finally:
            if self._runner is not None and not self._runner.done():
                self._runner.cancel()
            self._finish()

    async def _dispatch(self, submission: Submission) -> None:
        op = submission.op
        kind = op.get("type")
        if kind == "user_input":
            try:
                parsed = parse_user_input(op)
            except InvalidOp as exc:
                await self._send(submission.id, error_msg(str(exc), "bad_request"))
                return
            self._pending.append((submission.id, parsed))
            if self._runner is None or self._runner.done():
                self._runner = asyncio.create_task(self._run_turns(), name=f"threadstore-turn-{self.thread_id}")
        elif kind == "interrupt":
            self._pending.clear()
            if self._active is not None:
                self._active.interrupt()
        elif kind == "thread_rollback":
            await self._rollback(submission.id, op.get("num_turns"))
        elif kind == "set_thread_memory_mode":
            await self._set_memory_mode(submission.id, op.get("mode"))
        else:
            await self._send(submission.id, error_msg(f"unsupported op: {kind!r}", "bad_request"))

    async def _teardown(self, sub_id: str, *, complete: bool) -> None:
        self._pending.clear()
        if self._active is not None:
            self._active.interrupt()
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner
        live = self._live
        if live is not None and not live.closed:
            try:
                await live.shutdown()
            except Exception as exc:  # reported as an event
                self.shutdown_error = exc
                logger.warning("failed to shut down persistence of thread %s: %s", self.thread_id, exc)
                self._emit(Event(sub_id, error_msg(f"Failed to shutdown thread persistence: {exc}")))
                if not live.closed:
                    try:
                        await live.discard()
                    except Exception as discard_exc:  # best effort
                        logger.warning("failed to discard persistence of thread %s: %s", self.thread_id, discard_exc)
        if complete:
            # Delivered directly: persistence is closed and this event is never stored.
            self._emit(Event(sub_id, {"type": "shutdown_complete"}))

    # -- turns -----------------------------------------------------------------------------------

    async def _run_turns(self) -> None:
        while self._pending:
            sub_id, parsed = self._pending.popleft()
            await self._run_turn(sub_id, parsed)

    async def _send(self, sub_id: str, msg: dict[str, Any]) -> None:
        await self._journal.send(sub_id, msg)

    async def _run_turn(self, sub_id: str, parsed: UserInput) -> None:
        turn = Turn(sub_id)
        self._active = turn
        try:
            await self._turns.run(turn, parsed)
        finally:
            self._active = None
        await self._journal.flush(sub_id)

    # -- other ops -------------------------------------------------------------------------------

    async def _rollback(self, sub_id: str, num_turns: object) -> None:
        if not isinstance(num_turns, int) or isinstance(num_turns, bool) or num_turns < 1:
            await self._send(sub_id, error_msg("num_turns must be >= 1", "thread_rollback_failed"))
            return
        if self._pending or (self._active is not None and not self._active.finished):
            await self._send(sub_id, error_msg("cannot rollback while a turn is in progress", "thread_rollback_failed"))
            return
        if self._runner is not None:
            # The last turn has ended and is only flushing: let it finish first.
            with contextlib.suppress(Exception):
                await self._runner
        live = self._live
        if live is None:
            await self._send(
                sub_id, error_msg("thread rollback requires persisted thread history", "thread_rollback_failed")
            )
            return
        marker = thread_rolled_back(num_turns)
        try:
            await live.flush()
            stored = await live.load_history()
            replay = [*stored.items, marker]
            history = reconstruct_model_history(replay)
            usage = last_token_usage(replay)
            await live.append_items([marker])
        except ThreadStoreError as exc:
            await self._send(sub_id, error_msg(f"thread rollback failed: {exc}", "thread_rollback_failed"))
            return
        self._journal.history[:] = history
        self._turns.usage = usage
        await self._journal.flush(sub_id)
        self._emit(Event(sub_id, dict(marker["payload"])))

    async def _set_memory_mode(self, sub_id: str, mode: object) -> None:
        if mode not in ("enabled", "disabled"):
            await self._send(sub_id, error_msg(f"unknown memory mode: {mode!r}", "bad_request"))
            return
        if self._live is None:
            await self._send(sub_id, error_msg("ephemeral threads have no persisted memory mode", "bad_request"))
            return
        try:
            await self._live.update_memory_mode("enabled" if mode == "enabled" else "disabled")
        except ThreadStoreError as exc:
            await self._send(sub_id, error_msg(f"Failed to set thread memory mode: {exc}"))
            return
        self._memory_mode = "enabled" if mode == "enabled" else "disabled"
