"""Fixtures of the app-server tests: a writable copy of the Codex 0.125.0 home."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import CODEX_HOME_0125 as CODEX_HOME


@pytest.fixture
def codex_home(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A copy of the 0.125.0 home (the fixtures are read-only) and its ``expected.json``."""
    target = tmp_path / "codex-home"
    shutil.copytree(CODEX_HOME, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    target.chmod(0o755)
    return target, json.loads((target / "expected.json").read_text())
