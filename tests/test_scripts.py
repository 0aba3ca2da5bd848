"""``scripts/serve`` on its first run says what it is doing before the long install, instead of
printing nothing until the server is up (run here with a stand-in Python whose pip installs a
stand-in ``threadstore`` at once)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

FAKE_PYTHON = """#!/bin/sh
# "python -m venv DIR": a venv whose python's pip installs a threadstore that says how it was run.
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    mkdir -p "$3/bin"
    cat > "$3/bin/python" <<'EOF'
#!/bin/sh
for arg in "$@"; do
    if [ "$arg" = "-e" ]; then
        printf '#!/bin/sh\\necho "threadstore $*"\\n' > "$(dirname "$0")/threadstore"
        chmod +x "$(dirname "$0")/threadstore"
    fi
done
EOF
    chmod +x "$3/bin/python"
fi
"""


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_serve_says_what_it_does_on_its_first_run(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "serve", checkout / "scripts" / "serve")
    python = _executable(tmp_path / "python", FAKE_PYTHON)
    env = {**os.environ, "PYTHON": str(python), "THREADSTORE_HOME": str(tmp_path / "home")}

    first = subprocess.run(
        [str(checkout / "scripts" / "serve"), "--listen", "127.0.0.1:0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert first.stderr.startswith("first run: installing threadstore"), first.stderr
    assert "installed; starting the server" in first.stderr
    assert first.stdout == f"threadstore --store local:{tmp_path / 'home'} serve --listen 127.0.0.1:0\n"

    again = subprocess.run(
        [str(checkout / "scripts" / "serve")], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert again.stderr == ""  # installed already: straight to the server
    assert again.stdout.endswith("serve\n")
