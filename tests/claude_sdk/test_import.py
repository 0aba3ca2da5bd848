"""The integrations package imports no framework, and the Claude adapter without the SDK says
which extra to install."""

from __future__ import annotations

import subprocess
import sys

BLOCK_SDK = (
    "import sys\n"
    "class Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] == 'claude_agent_sdk':\n"
    "            raise ImportError(f'{name} is not installed', name=name)\n"
    "sys.meta_path.insert(0, Block())\n"
)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCK_SDK + code], capture_output=True, text=True, timeout=60)


def test_the_integrations_package_imports_no_sdk() -> None:
    done = _run(
        "import threadstore.integrations\n"
        "assert not [m for m in sys.modules if m.startswith(('claude_agent_sdk', 'agents'))]\n"
        "print('ok')\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_without_the_sdk_the_error_names_the_extra() -> None:
    done = _run("import threadstore.integrations.claude_agent_sdk\n")
    assert done.returncode == 1
    assert "ImportError" in done.stderr
    assert "pip install 'threadstore[claude]'" in done.stderr
