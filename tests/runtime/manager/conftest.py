"""The manager's tests run on the built-in model, through a manager shut down afterwards (on every
store of the runtime's tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from threadstore import ThreadStore
from threadstore._runtime import BuiltinModel, ThreadManager


@pytest.fixture
def model() -> BuiltinModel:
    return BuiltinModel()


@pytest.fixture
async def manager(store: ThreadStore, model: BuiltinModel) -> AsyncIterator[ThreadManager]:
    mgr = ThreadManager(store, model=model)
    try:
        yield mgr
    finally:
        await mgr.shutdown_all(timeout=5)
