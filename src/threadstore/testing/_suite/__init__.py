"""The conformance suite: one class whose test methods every backend passes (see
:mod:`threadstore.testing`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import pytest
import pytest_asyncio

from threadstore._contract.base import ThreadStore
from threadstore.testing._backend import Backend
from threadstore.testing._suite.edits import EditTests
from threadstore.testing._suite.eras import EraTests
from threadstore.testing._suite.hostile import HostileInputTests
from threadstore.testing._suite.ids import IdTests
from threadstore.testing._suite.labels import LabelTests
from threadstore.testing._suite.lifecycle import LifecycleTests
from threadstore.testing._suite.lines import LineTests
from threadstore.testing._suite.metadata import MetadataTests
from threadstore.testing._suite.pages import PageTests
from threadstore.testing._suite.reads import ReadTests
from threadstore.testing._suite.resources import ResourceTests
from threadstore.testing._suite.retries import RetryTests

__all__ = ["ConformanceSuite"]


@pytest.mark.asyncio
class ConformanceSuite(
    LifecycleTests,
    ReadTests,
    PageTests,
    RetryTests,
    MetadataTests,
    LabelTests,
    IdTests,
    ResourceTests,
    HostileInputTests,
    LineTests,
    EraTests,
    EditTests,
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
