from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from threadstore import ThreadStore

from .backends import BACKENDS, Backend


@pytest.fixture(params=sorted(BACKENDS))
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    b = BACKENDS[request.param](tmp_path)
    try:
        yield b
    finally:
        await b.aclose()


@pytest.fixture
async def store(backend: Backend) -> ThreadStore:
    return await backend.open()
