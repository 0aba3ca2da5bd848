"""A disk that fills up (a real one: a 3 MiB tmpfs in a private mount namespace): every
operation works or fails with ``ResourceExhausted``, never an internal or foreign error, and the
store works again once there is space."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

CHILD = Path(__file__).with_name("_full_disk.py")


def test_a_full_disk_is_resource_exhausted_and_nothing_breaks(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    unshare = shutil.which("unshare")
    assert unshare is not None, "util-linux's unshare is part of every machine of this kind"
    script = f'mount -t tmpfs -o size=3m tmpfs "{home}" && exec "{sys.executable}" "{CHILD}" "{home}"'
    out = subprocess.run(
        [unshare, "--map-root-user", "--mount", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    full = report["full"]
    assert full["new_thread"] == "resource_exhausted"
    assert all(kind in ("ok", "resource_exhausted") for kind in full.values()), full
    # What is indexed stays readable; a move needs no new space and completes.
    assert (full["list"], full["search"], full["read"], full["archive"]) == ("ok", "ok", "ok", "ok")
    assert report["after"] == {"new_thread": "ok"}
    assert "after the space came back" in report["listed"]
    assert sum(p.startswith("before the disk filled") for p in report["listed"]) >= 2
