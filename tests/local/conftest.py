"""Tests of the local store's freshness run twice: with the kernel reporting changes to the
home (inotify, where there is one) and with the store looking at every directory instead."""

from __future__ import annotations

import pytest

#: Modules whose tests run in both ways of noticing what other programs do.
_BOTH_WAYS = ("test_index_freshness", "test_external", "test_fill")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__.rsplit(".", 1)[-1] in _BOTH_WAYS:
        metafunc.fixturenames.append("noticing")
        metafunc.parametrize("noticing", ["watched", "stat"])


@pytest.fixture(autouse=True)
def _noticing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("noticing") == "stat":
        monkeypatch.setenv("THREADSTORE_NO_WATCH", "1")
