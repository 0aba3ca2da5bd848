"""Turn methods: ``turn/start``, ``turn/steer``, ``turn/interrupt``, ``thread/rollback`` and
``thread/revert``. Each needs the thread loaded (started, resumed or forked on this server).

* ``turn/start`` is answered when the turn actually starts (its ``task_started``), with the
  real turn id; a thread runs one turn at a time.
* ``turn/steer`` adds input to the running turn ``expectedTurnId`` and answers ``{turnId}`` at
  once: the input joins the turn's next model request (the runtime asks the model again after
  its current answer). Codex's refusals: ``no active turn to steer`` and ``expected active turn
  id `A` but found `B```.
* ``turn/interrupt`` is answered ``{}`` once the turn has ended.
* ``thread/rollback`` drops the last ``numTurns`` turns; ``thread/revert`` drops the turn
  ``beforeTurnId`` and every turn after it. Both append a ``thread_rolled_back`` marker
  (nothing is deleted, so this works for the rollouts of every era; Codex rewrites the history
  of a paginated thread instead) and are answered once it is stored: rollback with the thread
  and its turns, revert with ``{thread, turnsBackwardsCursor, itemsBackwardsCursor}`` followed
  by a broadcast ``thread/reverted``.
"""

from __future__ import annotations

from threadstore._appserver.context import DEFERRED, Deferred, Reply, RequestContext
from threadstore._appserver.convert import user_input_items
from threadstore._appserver.errors import RpcError
from threadstore._appserver.group import MethodGroup
from threadstore._appserver.params import Params
from threadstore._appserver.state import LoadedThread, PendingRollback
from threadstore._rollout.turns import build_turns

__all__ = ["TurnMethods"]


def _check_rollback(loaded: LoadedThread, operation: str) -> None:
    if loaded.thread.ephemeral:
        raise RpcError.invalid_request(f"thread {operation} requires persisted thread history")
    if loaded.pending_rollback is not None:
        raise RpcError.invalid_request("rollback already in progress for this thread")
    if loaded.turn_busy:
        raise RpcError.invalid_request(f"cannot {operation} while a turn is in progress")


class TurnMethods(MethodGroup):
    async def turn_start(self, params: Params, ctx: RequestContext) -> Deferred:
        thread_id = params.thread_id()
        items = user_input_items(params.raw.get("input"))
        loaded = self.hub.registry.require(thread_id)
        if loaded.turn_busy:
            raise RpcError.invalid_request(f"a turn is already in progress on thread {thread_id}")
        if loaded.pending_rollback is not None:
            raise RpcError.invalid_request(f"a rollback is in progress on thread {thread_id}")
        submission = await loaded.thread.submit({"type": "user_input", "items": items})
        # Registered before the listener can run again (no await in between): the turn's
        # task_started answers this request.
        loaded.pending_starts[submission] = ctx.responder
        return DEFERRED

    async def turn_steer(self, params: Params, ctx: RequestContext) -> Reply:
        thread_id = params.thread_id()
        items = user_input_items(params.raw.get("input"))
        expected = params.string("expectedTurnId")
        loaded = self.hub.registry.require(thread_id)
        return Reply({"turnId": await loaded.thread.steer(items, expected)})

    async def turn_interrupt(self, params: Params, ctx: RequestContext) -> Deferred:
        thread_id = params.thread_id()
        turn_id = params.string("turnId")
        loaded = self.hub.registry.require(thread_id)
        turn = loaded.active_turn
        if turn is None:
            raise RpcError.invalid_request(f"no turn is in progress on thread {thread_id}")
        if turn.turn_id != turn_id:
            raise RpcError.invalid_request(f"turn {turn_id} is not the active turn of thread {thread_id}")
        loaded.pending_interrupts.append(ctx.responder)
        await loaded.thread.submit({"type": "interrupt"})
        return DEFERRED

    async def thread_rollback(self, params: Params, ctx: RequestContext) -> Deferred:
        thread_id = params.thread_id()
        num_turns = params.opt_int("numTurns")
        if num_turns is None:
            raise RpcError.invalid_params("Invalid params: missing field `numTurns`")
        if num_turns < 1:
            raise RpcError.invalid_request("numTurns must be >= 1")
        loaded = self.hub.registry.require(thread_id)
        _check_rollback(loaded, "rollback")
        submission = await loaded.thread.submit({"type": "thread_rollback", "num_turns": num_turns})
        loaded.pending_rollback = PendingRollback(submission, ctx.responder)
        return DEFERRED

    async def thread_revert(self, params: Params, ctx: RequestContext) -> Deferred:
        thread_id = params.thread_id()
        before = params.string("beforeTurnId")
        loaded = self.hub.registry.require(thread_id)
        _check_rollback(loaded, "revert")
        stored = await self.views.stored(thread_id, include_history=True)
        turns = build_turns(stored.history.items if stored.history is not None else [])
        index = next((i for i, turn in enumerate(turns) if turn["id"] == before), None)
        if index is None:
            raise RpcError.invalid_request(f"turn not found: {before}")
        user_turns = [turn for turn in turns[index:] if any(i["type"] == "userMessage" for i in turn["items"])]
        if not user_turns or user_turns[0] is not turns[index]:
            raise RpcError.invalid_request(f"turn {before} holds no user input: it cannot be reverted")
        _check_rollback(loaded, "revert")  # the thread may have changed while it was read
        submission = await loaded.thread.submit({"type": "thread_rollback", "num_turns": len(user_turns)})
        loaded.pending_rollback = PendingRollback(submission, ctx.responder, "revert")
        return DEFERRED
