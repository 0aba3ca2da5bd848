"""``threadstore export`` and ``import`` on real Codex homes: a rollout out is Codex's own bytes,
a thread JSON or a Codex-home directory carries names and archived state too, and every form
comes back exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from threadstore._backends.local.layout import thread_id_from_name

from ..fixtures import CODEX_HOME_0125, CODEX_HOME_0169
from .helpers import invoke

RENAMED = "01a211bf-a202-72e0-abc9-a87cf784d36a"  # 0.169: named "Storage work" in session_index only
ARCHIVED = "01a211bf-a416-7c70-810d-fb666faa8c78"


def _files(home: Path) -> dict[str, bytes]:
    found = {thread_id_from_name(p.name): p.read_bytes() for p in home.rglob("rollout-*.jsonl")}
    return {k: v for k, v in found.items() if k is not None}


def _threads(url: str) -> dict[str, dict[str, object]]:
    code, out, err = invoke(url, "list", "--archived", "--json")
    assert code == 0, err
    active = json.loads(out)["threads"]
    code, out, err = invoke(url, "list", "--json")
    assert code == 0, err
    keys = ("created_at", "updated_at", "name", "archived_at")
    return {
        t["thread_id"]: {k: t[k] for k in keys if k != "archived_at"} | {"archived": bool(t["archived_at"])}
        for t in [*active, *json.loads(out)["threads"]]
    }


@pytest.fixture(params=[CODEX_HOME_0125, CODEX_HOME_0169], ids=["codex-0.125", "codex-0.169"])
def codex_home(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, bytes]]:
    home = tmp_path / "codex"
    shutil.copytree(request.param, home)
    return f"local:{home}", _files(request.param)


def test_a_rollout_exported_is_codex_bytes_and_imports_back(
    codex_home: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    url, originals = codex_home
    fresh = f"local:{tmp_path / 'fresh'}"
    for thread_id, raw in originals.items():
        code, out, err = invoke(url, "export", thread_id[:13])
        assert code == 0, err
        assert out.encode() == raw
        (tmp_path / f"{thread_id}.jsonl").write_bytes(raw)
    code, out, err = invoke(fresh, "import", *(str(tmp_path / f"{t}.jsonl") for t in originals), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["copied"], report["failed"]) == (len(originals), 0)
    assert all(t["notes"] == [] for t in report["threads"])
    assert _files(tmp_path / "fresh") == originals
    mine, theirs = _threads(fresh), _threads(url)
    assert {t: (m["created_at"], m["updated_at"]) for t, m in mine.items()} == {
        t: (m["created_at"], m["updated_at"]) for t, m in theirs.items()
    }

    code, out, err = invoke(fresh, "import", str(tmp_path / f"{next(iter(originals))}.jsonl"))
    assert code == 0, err
    assert "imported 0, skipped 1, failed 0" in out


def test_thread_json_and_codex_home_exports_keep_names_and_archives(
    codex_home: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    url, originals = codex_home
    expected = _threads(url)

    code, out, err = invoke(url, "export", "--all", "--format", "json", "--output", str(tmp_path / "json"), "--json")
    assert code == 0, err
    assert json.loads(out)["copied"] == len(originals)
    from_json = "memory:"  # a store that lives as long as the import
    code, out, err = invoke(from_json, "import", *map(str, sorted((tmp_path / "json").iterdir())), "--json")
    assert code == 0, err
    assert json.loads(out)["copied"] == len(originals)

    code, out, err = invoke(url, "export", "--all", "--output", str(tmp_path / "home"))
    assert code == 0, err
    assert f"exported {len(originals)} thread(s)" in err
    assert _files(tmp_path / "home") == originals  # a Codex home: the same rollouts...
    assert not (tmp_path / "home" / ".threadstore").exists()
    assert _threads(f"local:{tmp_path / 'home'}") == expected  # ...names and archives included

    back = f"local:{tmp_path / 'back'}"
    code, out, err = invoke(back, "import", str(tmp_path / "home"), *map(str, (tmp_path / "json").iterdir()))
    assert code == 0, err
    assert f"imported {len(originals)}, skipped {len(originals)}, failed 0" in out
    assert _files(tmp_path / "back") == originals
    assert _threads(back) == expected


def test_json_import_from_stdin_keeps_the_name(tmp_path: Path) -> None:
    home = tmp_path / "codex"
    shutil.copytree(CODEX_HOME_0169, home)
    code, out, err = invoke(f"local:{home}", "export", RENAMED, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["thread"]["name"] == "Storage work"
    target = f"local:{tmp_path / 'target'}"
    code, _, err = invoke(target, "import", "-", input=out)
    assert code == 0, err
    assert _threads(target)[RENAMED]["name"] == "Storage work"
    assert not any("thread_name_updated" in line for line in out.splitlines()[1:])


def test_markdown_is_a_transcript(tmp_path: Path) -> None:
    home = tmp_path / "codex"
    shutil.copytree(CODEX_HOME_0169, home)
    code, out, err = invoke(f"local:{home}", "export", RENAMED, "--format", "markdown")
    assert code == 0, err
    assert out.startswith("# Storage work\n")
    assert f"- **Thread:** `{RENAMED}`" in out
    assert "### User\n\nplan the storage layer" in out
    assert "### Agent\n\necho: plan the storage layer" in out
    assert "environment_context" not in out  # injected context stays hidden


def test_bad_exports_and_imports_say_why(tmp_path: Path) -> None:
    home = tmp_path / "codex"
    shutil.copytree(CODEX_HOME_0169, home)
    url = f"local:{home}"
    code, _, err = invoke(url, "export")
    assert (code, err) == (2, "error: name the threads to export, or pass --all\n")
    code, _, err = invoke(url, "export", RENAMED, ARCHIVED)
    assert (code, err) == (2, "error: several threads need --output DIRECTORY\n")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    code, _, err = invoke(url, "export", "--all", "-o", str(tmp_path / "full"))
    assert code == 2
    assert "not empty" in err

    (tmp_path / "junk.jsonl").write_text('{"type": "event_msg", "payload": {}}\nnot json\n')
    (tmp_path / "nometa.jsonl").write_text('{"type": "event_msg", "payload": {}}\n')
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    target = f"local:{tmp_path / 'target'}"
    paths = [str(tmp_path / n) for n in ("junk.jsonl", "nometa.jsonl", "bad.json", "missing.jsonl")]
    code, out, err = invoke(target, "import", *paths, "--json")
    assert code == 1
    reasons = [t["reason"] for t in json.loads(out)["threads"]]
    assert "1 line(s) that are not rollout lines" in reasons[0]
    assert "first line is not a session_meta" in reasons[1]
    assert "not a thread export" in reasons[2]
    assert "no such file" in reasons[3]
    assert not list((tmp_path / "target").rglob("rollout-*"))  # nothing half-imported


def test_a_one_line_rollout_on_stdin_is_a_rollout_even_when_it_says_format(tmp_path: Path) -> None:
    thread_id = "01a211bf-0000-7000-8000-000000000001"
    meta = {"id": thread_id, "timestamp": "2026-01-02T03:04:05.000Z", "cwd": "/srv/p", "format": "markdown"}
    line = json.dumps({"timestamp": "2026-01-02T03:04:05.000Z", "type": "session_meta", "payload": meta})
    target = f"local:{tmp_path / 'target'}"
    code, out, err = invoke(target, "import", "-", "--json", input=line + "\n")
    assert code == 0, err
    outcome = json.loads(out)["threads"][0]
    assert outcome["thread_id"] == thread_id  # read as a rollout (not refused as a thread export)
    assert outcome["status"] == "skipped"  # a session_meta alone: nothing a listing would show
    assert "no user message" in outcome["reason"]
