"""The conformance suite: one class whose test methods every backend passes (see
:mod:`threadstore.testing`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import pytest
import pytest_asyncio

from ...store.base import ThreadStore
from ..backend import Backend
from .eras import EraTests
from .hostile import HostileInputTests
from .ids import IdTests
from .lifecycle import LifecycleTests
from .lines import LineTests
from .metadata import MetadataTests
from .pages import PageTests
from .reads import ReadTests
from .resources import ResourceTests
from .retries import RetryTests

__all__ = ["ConformanceSuite"]


@pytest.mark.asyncio
class ConformanceSuite(
    LifecycleTests,
    ReadTests,
    PageTests,
    RetryTests,
    MetadataTests,
    IdTests,
    ResourceTests,
    HostileInputTests,
    LineTests,
    EraTests,
):
    """Subclass it (with a name starting ``Test``) and set :attr:`backend_class`."""

    backend_class: ClassVar[type[Backend]]

    @pytest_asyncio.fixture
    async def backend(self, tmp_path: Path) -> AsyncIterator[Backend]:
        made = self.backend_class(tmp_path)
        try:
            yield made
        finally:
            await made.aclose()

    @pytest_asyncio.fixture
    async def store(self, backend: Backend) -> ThreadStore:
        return await backend.open()
