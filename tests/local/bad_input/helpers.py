"""What every bad-input test checks: the call fails with a clear error and the home is unchanged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from threadstore import InvalidRequest, ThreadStoreError

from .._util import snapshot

__all__ = ["refused"]


async def refused(
    home: Path, call: Callable[[], Awaitable[object]], kind: type[ThreadStoreError] = InvalidRequest
) -> str:
    """Run ``call``, require ``kind`` with a non-empty message, and require the home unchanged."""
    before = snapshot(home)
    with pytest.raises(kind) as info:
        await call()
    assert str(info.value).strip()
    assert snapshot(home) == before
    return str(info.value)
