"""Fixtures of the app-server tests: a writable copy of the Codex 0.125.0 home."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
CODEX_HOME = FIXTURES / "codex-homes" / "codex-0.125.0"


@pytest.fixture
def codex_home(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A copy of the 0.125.0 home (the fixtures are read-only) and its ``expected.json``."""
    if not CODEX_HOME.is_dir():
        pytest.skip("shared fixtures not present")
    target = tmp_path / "codex-home"
    shutil.copytree(CODEX_HOME, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    target.chmod(0o755)
    return target, json.loads((target / "expected.json").read_text())
