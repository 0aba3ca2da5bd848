"""Packaging: the version, and a core install that works without any extra."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import threadstore

ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter where the extras' packages cannot be imported: the store and the
# runtime (with the built-in model) must work, and importing the package must not touch them.
CORE_ONLY = r"""
import asyncio, sys

BLOCKED = {"typer", "rich", "httpx", "grpc", "psycopg", "psycopg_pool", "starlette", "jinja2", "pytest"}

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED or name.startswith("google.protobuf"):
            raise ImportError(f"{name} is not installed")
        return None

sys.meta_path.insert(0, Block())
import threadstore
assert not [m for m in sys.modules if m.split(".")[0] in ("threadstore",) and ".runtime" in m], "runtime imported eagerly"
from threadstore import LocalThreadStore, ThreadConfig, ThreadManager

async def main():
    async with LocalThreadStore(sys.argv[1]) as store:
        manager = ThreadManager(store)
        thread = await manager.start_thread(ThreadConfig(cwd="/tmp"))
        await thread.submit({"type": "user_input", "items": [{"type": "text", "text": "hi"}]})
        while (await thread.next_event()).msg["type"] != "task_complete":
            pass
        await manager.shutdown_all(timeout=5)
        page = await store.list_threads(threadstore.ListThreadsParams())
        print(page.items[0].preview)

asyncio.run(main())
"""


def test_version_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert threadstore.__version__ == project["version"]


def test_core_install_needs_no_extra(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CORE_ONLY, str(tmp_path / "home")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hi"


def test_the_command_without_its_extra_says_what_to_install() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('typer', 'rich'):\n"
        "            raise ImportError(f'{name} is not installed', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from threadstore._cli import main\n"
        "sys.exit(main(['list']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "pip install 'threadstore[cli]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_extras_are_declared() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {"cli", "grpc", "openai", "testing", "all"} <= set(extras)
    assert not [d for d in core if d.split(">")[0] in ("typer", "rich", "httpx", "grpcio", "protobuf")]
