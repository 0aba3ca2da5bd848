"""The README's Security section documents every limit with its flag and default: each flag it
names is an option of the command it names, with the default it states."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from threadstore._cli import app

from .cli.helpers import runner

README = Path(__file__).resolve().parent.parent / "README.md"


def _rows() -> list[tuple[str, str, str]]:
    """(command, flag, default) of each table row naming a flag and a default."""
    section = README.read_text().split("## Security\n", 1)[1].split("\n## ", 1)[0]
    found = []
    for line in section.splitlines():
        command = re.match(r"\| `(serve|app-server)`", line)
        for flag, default in re.findall(r"`(--[a-z-]+)` ([0-9][0-9,.]*)", line):
            found.append((command.group(1) if command else "serve", flag, default.rstrip(",.")))
    return found


def test_the_section_names_the_limits() -> None:
    flags = {flag for _, flag, _ in _rows()}
    assert {"--max-requests-in-flight", "--keepalive", "--max-unread-mb", "--history-builds"} <= flags
    assert {"--max-held-mb", "--max-held-age", "--max-queued-mb", "--stall-timeout", "--max-message-mb"} <= flags


@pytest.mark.parametrize(("command", "flag", "default"), _rows())
def test_each_documented_flag_exists_with_its_default(command: str, flag: str, default: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    # Each option's help starts on a line of its own and may wrap over the next ones.
    blocks = re.split(r"\n(?=  -)", result.stdout)
    mine = [" ".join(b.split()) for b in blocks if b.strip().startswith(flag + " ")]
    assert mine, f"{command} has no {flag}"
    stated = re.search(r"\[default: ([0-9.]+)", mine[0])
    assert stated is not None, mine[0]
    assert float(stated.group(1)) == float(default.replace(",", ""))
