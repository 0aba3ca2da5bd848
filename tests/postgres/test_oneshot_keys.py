"""One-step appends keep idempotency keys as live writers do: the same key and items store
nothing again, the same key with other items is ``Conflict`` with nothing stored."""

from __future__ import annotations

import pytest

from threadstore import AppendThreadItemsParams, Conflict, LoadThreadHistoryParams, items
from threadstore._contract.features import OneShotAppends
from threadstore.testing import create_params

from .conftest import StoreFactory


def _keyed(thread_id: str, text: str, key: str) -> AppendThreadItemsParams:
    return AppendThreadItemsParams(thread_id, [items.user_message(text)], idempotency_key=key)


async def test_a_key_sent_again_in_one_step(open_pg: StoreFactory) -> None:
    first, second = open_pg(), open_pg()
    assert isinstance(first, OneShotAppends)
    assert isinstance(second, OneShotAppends)
    create = create_params()
    tid = create.thread_id
    await first.append_unheld(create, _keyed(tid, "one", "k1"))
    await first.append_unheld(create, _keyed(tid, "one", "k1"))  # from the remembered state
    await second.append_unheld(create, _keyed(tid, "one", "k1"))  # the careful way
    for store in (first, second):
        with pytest.raises(Conflict, match="already used for other items"):
            await store.append_unheld(create, _keyed(tid, "other", "k1"))
    history = await first.load_history(LoadThreadHistoryParams(tid))
    assert [i["payload"].get("message") for i in history.items[1:]] == ["one"]
