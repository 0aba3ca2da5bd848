"""A backend from another package, found through the ``threadstore.backends`` entry points: an
installed distribution (here a ``.dist-info`` directory on the path, as pip leaves one) names a
factory for the ``jsondir`` scheme. The command line opens it by URL, and the conformance kit runs
every behaviour against it, in processes of their own that see the distribution as installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# A durable backend of a few lines: the in-memory store, whose threads a JSON file keeps
# between processes (written at close, read at open).
PLUGIN = '''
from __future__ import annotations

import json
from pathlib import Path

from threadstore import InMemoryThreadStore, StoredThreadHistory
from threadstore.transfer import read_record, record_from_json, record_to_json, write_record


class JsonDirStore(InMemoryThreadStore):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.loaded = False
        self.saved = False

    async def _load(self) -> None:
        if self.loaded:
            return
        self.loaded = True
        if self.path.exists():
            for entry in json.loads(self.path.read_text()):
                await write_record(self, record_from_json(entry))

    async def _read_thread(self, params):
        await self._load()
        return await super()._read_thread(params)

    async def _list_threads(self, params):
        await self._load()
        return await super()._list_threads(params)

    async def close(self) -> None:
        if self.saved:
            return
        self.saved = True
        await self._load()
        page = await self._list_threads(__import__("threadstore").ListThreadsParams(page_size=1000))
        records = [record_to_json(await read_record(self, t.thread_id)) for t in page.items]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(records))
        await super().close()


def open_url(url: str, /, **options: object) -> JsonDirStore:
    return JsonDirStore(Path(url.partition(":")[2]) / "threads.json")
'''

SUITE = '''
from threadstore.testing import Capabilities, ConformanceSuite, schemes, url_backend


def test_the_registry_lists_the_scheme() -> None:
    assert "jsondir" in schemes()


class TestJsonDir(ConformanceSuite):
    backend_class = url_backend("jsondir:{tmp}/db", capabilities=Capabilities(durable=False))
'''


@pytest.fixture
def installed(tmp_path: Path) -> dict[str, str]:
    """The plugin installed in a directory of its own: its module, and the distribution's
    metadata with the entry point. Returns the environment that sees it."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "jsondir_backend.py").write_text(PLUGIN)
    info = site / "jsondir_backend-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: jsondir-backend\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[threadstore.backends]\njsondir = jsondir_backend:open_url\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _threadstore(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "threadstore", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_command_line_opens_a_backend_by_its_entry_point(installed: dict[str, str], tmp_path: Path) -> None:
    url = f"jsondir:{tmp_path / 'db'}"
    rollout = tmp_path / "one.jsonl"
    meta = {"id": "01a211bf-81da-7c93-9c38-b2117fbac6d3", "timestamp": "2026-11-25T08:00:00.000Z", "cwd": "/srv"}
    lines = [
        {"timestamp": "2026-11-25T08:00:00.000Z", "type": "session_meta", "payload": meta},
        {"timestamp": "2026-11-25T08:00:01.000Z", "type": "event_msg", "payload": {"type": "user_message", "message": "hi"}},
    ]
    rollout.write_text("".join(json.dumps(line) + "\n" for line in lines))
    imported = _threadstore(installed, "--store", url, "import", str(rollout), "--json")
    assert imported.returncode == 0, imported.stderr
    listed = _threadstore(installed, "--store", url, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    threads = json.loads(listed.stdout)["threads"]
    assert [(t["thread_id"], t["preview"]) for t in threads] == [(meta["id"], "hi")]
    helped = _threadstore(installed, "--help")
    assert "jsondir:..." in helped.stdout


def test_an_unknown_scheme_names_the_installed_ones(installed: dict[str, str]) -> None:
    result = _threadstore(installed, "--store", "nosuch:x", "list")
    assert result.returncode != 0
    assert "jsondir:..." in result.stderr


def test_the_conformance_kit_runs_against_it(installed: dict[str, str], tmp_path: Path) -> None:
    suite = tmp_path / "test_plugin_suite.py"
    suite.write_text(textwrap.dedent(SUITE))
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(suite)],
        env=installed,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout
