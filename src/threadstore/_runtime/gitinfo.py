"""Collect git facts (commit, branch, origin URL) for a working directory without running git.

Reads ``.git/HEAD``, loose and packed refs, and ``.git/config`` directly: fast enough to do when
a thread's first line is written. Worktrees (a ``.git`` file pointing elsewhere) are followed.
Any problem yields None rather than an error: git facts are best-effort metadata.
"""

from __future__ import annotations

import configparser
from pathlib import Path

from threadstore._contract.types import GitInfo

__all__ = ["collect_git_info"]


def _git_dir(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():
            text = candidate.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                target = Path(text[len("gitdir:") :].strip())
                return target if target.is_absolute() else (directory / target).resolve()
    return None


def _resolve_ref(git_dir: Path, common: Path, ref: str) -> str | None:
    for base in (git_dir, common):
        loose = base / ref
        if loose.is_file():
            return loose.read_text().strip() or None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref:
                return parts[0]
    return None


def collect_git_info(cwd: str) -> GitInfo | None:
    """Git facts for ``cwd``, or None when it is not inside a readable repository."""
    if not cwd:
        return None
    try:
        git_dir = _git_dir(Path(cwd))
        if git_dir is None:
            return None
        common = git_dir
        commondir = git_dir / "commondir"
        if commondir.is_file():
            common = (git_dir / commondir.read_text().strip()).resolve()
        head = (git_dir / "HEAD").read_text().strip()
        branch: str | None = None
        sha: str | None
        if head.startswith("ref:"):
            ref = head[4:].strip()
            branch = ref.removeprefix("refs/heads/")
            sha = _resolve_ref(git_dir, common, ref)
        else:
            sha = head or None
        url: str | None = None
        config_path = common / "config"
        if config_path.is_file():
            parser = configparser.RawConfigParser(strict=False)
            parser.read(config_path)
            section = 'remote "origin"'
            if parser.has_section(section) and parser.has_option(section, "url"):
                url = parser.get(section, "url")
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None
    info = GitInfo(commit_hash=sha, branch=branch, repository_url=url)
    return None if info == GitInfo() else info
