"""The answer budget on its own: what is counted, what waits, and that waiting is bounded."""

from __future__ import annotations

import asyncio

import pytest

from threadstore import ResourceExhausted
from threadstore._server.budget import SMALL_ANSWER, AnswerBudget
from threadstore._server.limits import AnswerLimits

MIB = 1024 * 1024


def _budget(*, per_connection: int = 2 * MIB, wait: float = 0.2) -> AnswerBudget:
    """4 MiB for the server, 2 builds at once."""
    return AnswerBudget(AnswerLimits(4 * MIB, per_connection, history_builds=2, wait=wait))


async def test_small_answers_are_not_counted_and_large_ones_are_until_read() -> None:
    budget = _budget()
    assert not await budget.reserve("a", SMALL_ANSWER)
    assert await budget.reserve("a", MIB)
    assert (budget.unread, budget.unread_of("a")) == (MIB, MIB)
    budget.release("a", MIB)
    assert (budget.unread, budget.unread_of("a")) == (0, 0)


async def test_a_connection_holds_its_share_and_one_answer() -> None:
    budget = _budget()
    assert await budget.reserve("a", 3 * MIB)  # larger than its share: alone, it goes
    with pytest.raises(ResourceExhausted, match="waiting to be read"):
        await budget.reserve("a", MIB)
    assert await budget.reserve("b", MIB)  # another connection is answered from the rest
    waiting = asyncio.create_task(budget.reserve("a", MIB))
    await asyncio.sleep(0.05)
    budget.release("a", 3 * MIB)  # its client read it
    assert await waiting


async def test_the_server_holds_its_budget_and_one_answer() -> None:
    budget = _budget(per_connection=8 * MIB)
    assert await budget.reserve("a", 3 * MIB)
    with pytest.raises(ResourceExhausted):
        await budget.reserve("b", 2 * MIB)
    budget.release("a", 3 * MIB)
    assert await budget.reserve("b", 5 * MIB)  # nothing else unread: larger than the budget, alone


async def test_history_builds_one_per_connection_and_a_few_in_all() -> None:
    budget = _budget(wait=5)
    running: list[str] = []
    most: list[int] = []
    gate = asyncio.Event()

    async def build(peer: str) -> None:
        async with budget.history_build(peer):
            running.append(peer)
            most.append(len(running))
            await gate.wait()
            running.remove(peer)

    tasks = [asyncio.create_task(build(peer)) for peer in ("a", "a", "b", "c")]
    await asyncio.sleep(0.1)
    assert sorted(running) == ["a", "b"]  # a's second waits for its first; c for a turn
    gate.set()
    await asyncio.gather(*tasks)
    assert max(most) == 2


async def test_a_connection_with_unread_answers_waits_to_build() -> None:
    budget = _budget()
    assert await budget.reserve("a", 2 * MIB)
    with pytest.raises(ResourceExhausted, match="not read its earlier answers"):
        async with budget.history_build("a"):
            pass
    async with budget.history_build("b"):
        pass
