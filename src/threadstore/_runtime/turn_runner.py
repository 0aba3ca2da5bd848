"""Running one user turn of a session: from ``task_started`` to ``task_complete``.

:meth:`TurnRunner.run` persists, in order: ``task_started``, ``turn_context``, the user
``message`` response item and ``user_message``; then for each model answer ``agent_message``,
the assistant ``message`` response item and ``token_count``. A thread with paginated history
(the 0.169 era) records the two messages as ``item_completed`` events carrying a
``UserMessage`` / ``AgentMessage`` instead, as Codex of that era does (the events delivered to
the caller are the same); after an answer, input steered into
the turn meanwhile (:meth:`.turn.Turn.steer`) is recorded the same way as the first input and
the model is asked again, so the steered input is part of the turn's next model request; when
no steered input is left, ``task_complete``. An interrupt ends the turn with ``turn_aborted``; a
model failure with ``error`` and ``task_complete``. Every event goes through the session's
:class:`~.journal.Journal` (persisted, then delivered). A turn never raises: whatever goes wrong
is reported as events.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime
from typing import Any, Final

from threadstore._contract.types import TokenUsage
from threadstore._rollout.items import Item, assistant_message, item_completed
from threadstore._rollout.items import turn_context as turn_context_item
from threadstore._runtime.config import ThreadConfig
from threadstore._runtime.errors import ModelError
from threadstore._runtime.events import Event
from threadstore._runtime.journal import Journal
from threadstore._runtime.models.base import ModelClient, ModelCompleted, ModelRequest
from threadstore._runtime.protocol import (
    UserInput,
    add_usage,
    agent_message_msg,
    error_msg,
    task_complete_msg,
    task_started_msg,
    token_count_msg,
    turn_aborted_msg,
    user_message_msg,
)
from threadstore._runtime.turn import Interrupted, Turn, sample

__all__ = ["TurnRunner"]

logger: Final = logging.getLogger("threadstore.runtime")


class TurnRunner:
    """Runs the turns of one session (one at a time; the session makes sure of it).

    ``usage`` is the thread's cumulative token usage: each answer adds to it, and the session
    resets it after a rollback."""

    def __init__(
        self,
        journal: Journal,
        model: ModelClient,
        config: ThreadConfig,
        usage: TokenUsage | None,
        *,
        paginated: bool = False,
    ) -> None:
        self._journal = journal
        self._model = model
        self._config = config
        self.usage = usage
        self._paginated = paginated

    async def run(self, turn: Turn, user: UserInput) -> None:
        journal, sub_id = self._journal, turn.sub_id
        try:
            await journal.send(sub_id, self._era(turn, task_started_msg(turn.turn_id, self._model.context_window)))
            await journal.record(sub_id, self._turn_context(turn))
            await self._record_input(turn, user)
            while True:
                text = await self._answer(turn, await self._sample(turn))
                steered = turn.take_steered()
                if not steered:
                    break
                for more in steered:
                    await self._record_input(turn, more)
            await journal.send(sub_id, self._task_complete(turn, text))
        except Interrupted:
            turn.finished = True
            await journal.send(sub_id, turn_aborted_msg(turn.turn_id, turn.elapsed_ms()))
        except ModelError as exc:
            await journal.send(sub_id, error_msg(str(exc), exc.kind))
            await journal.send(sub_id, self._task_complete(turn, None))
        except Exception as exc:  # a turn never takes the session down
            logger.exception("turn %s of thread %s failed", turn.turn_id, journal.thread_id)
            await journal.send(sub_id, error_msg(f"turn failed: {exc}"))
            await journal.send(sub_id, self._task_complete(turn, None))

    async def _record_input(self, turn: Turn, user: UserInput) -> None:
        """The user's input: its model-visible ``message``, then the ``user_message`` event."""
        message = {"type": "response_item", "payload": {"type": "message", "role": "user", "content": user.content}}
        await self._journal.record(turn.sub_id, message)
        stored = self._completed(turn, {"type": "UserMessage", "id": str(uuid.uuid4()), "content": _user_inputs(user)})
        await self._journal.send(turn.sub_id, user_message_msg(user), stored=stored)

    def _completed(self, turn: Turn, item: dict[str, Any]) -> Item | None:
        """What a paginated thread records for a finished message (None: the event itself)."""
        if not self._paginated:
            return None
        return item_completed(self._journal.thread_id, turn.turn_id, item, at_ms=int(time.time() * 1000))

    def _turn_context(self, turn: Turn) -> Item:
        config = self._config
        assert config.model is not None
        now = datetime.now().astimezone()
        return turn_context_item(
            cwd=config.cwd,
            model=config.model,
            turn_id=turn.turn_id,
            approval_policy=config.approval_policy,
            effort=config.reasoning_effort,
            sandbox_policy=dict(config.sandbox_policy),
            current_date=now.strftime("%Y-%m-%d"),
            timezone=now.tzname() or "UTC",
        )

    async def _sample(self, turn: Turn) -> ModelCompleted:
        config = self._config
        assert config.model is not None
        request = ModelRequest(
            model=config.model,
            input=list(self._journal.history),
            instructions=config.base_instructions,
            reasoning_effort=config.reasoning_effort,
        )

        def delta(text: str) -> None:
            self._journal.emit(Event(turn.sub_id, {"type": "agent_message_delta", "delta": text}))

        return await sample(self._model, turn, request, delta)

    async def _answer(self, turn: Turn, completed: ModelCompleted) -> str:
        """Record one model answer (message, usage); return its text."""
        journal, sub_id, text = self._journal, turn.sub_id, completed.text
        answer = {"type": "AgentMessage", "id": f"msg_{uuid.uuid4().hex}", "content": [{"type": "Text", "text": text}]}
        await journal.send(sub_id, agent_message_msg(text), stored=self._completed(turn, answer))
        await journal.record(sub_id, assistant_message(text))
        if completed.usage is not None:
            self.usage = add_usage(self.usage, completed.usage)
        total = self.usage if completed.usage is not None else None
        await journal.send(sub_id, token_count_msg(total, completed.usage, self._model.context_window))
        return text

    def _task_complete(self, turn: Turn, last_agent_message: str | None) -> dict[str, Any]:
        turn.finished = True
        msg = task_complete_msg(turn.turn_id, last_agent_message, turn.elapsed_ms())
        if self._paginated:  # Codex of that era reads a finished turn's facts from here
            msg["started_at"] = turn.started_at
        return self._era(turn, msg)

    def _era(self, turn: Turn, msg: dict[str, Any]) -> dict[str, Any]:
        """A turn boundary event as this thread's era writes it (a paginated thread's carry the
        turn's ``root_turn_id``)."""
        if self._paginated:
            msg["root_turn_id"] = turn.turn_id
        return msg


def _user_inputs(user: UserInput) -> list[dict[str, Any]]:
    """The user's input as Codex's core ``UserInput`` list (what a ``UserMessage`` holds)."""
    parts: list[dict[str, Any]] = []
    for entry in user.content:
        kind = entry.get("type")
        if kind == "input_text":
            parts.append({"type": "text", "text": entry.get("text", ""), "text_elements": []})
        elif kind == "input_image":
            parts.append({"type": "image", "image_url": entry.get("image_url")})
    parts.extend({"type": "local_image", "path": path} for path in user.local_images)
    return parts
