"""Finding, or installing with npm, the real OpenAI Codex CLI builds the peer tests drive.

:func:`ensure_codex` finds (or installs with npm) a given ``@openai/codex`` version in a cache
directory (``$THREADSTORE_CODEX_CACHE``, default ``~/.cache/threadstore-tests/codex``) and returns
the native executable shipped in the platform package; :func:`require_codex` does so for a test.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "APP_SERVER_VERSION",
    "EXEC_VERSION",
    "CodexInstall",
    "CodexInstallError",
    "codex_cache_dir",
    "ensure_codex",
    "find_codex_executable",
    "npm_available",
    "require_codex",
]

EXEC_VERSION = "0.125.0"
"""The 0.125-era build used for ``codex exec`` / ``codex exec resume``."""
APP_SERVER_VERSION = "0.128.0"
"""The build used for ``codex app-server``."""

# npm platform package suffix and Rust target triple, per (system, machine).
_PLATFORMS: dict[tuple[str, str], tuple[str, str]] = {
    ("Linux", "x86_64"): ("linux-x64", "x86_64-unknown-linux-musl"),
    ("Linux", "aarch64"): ("linux-arm64", "aarch64-unknown-linux-musl"),
    ("Linux", "arm64"): ("linux-arm64", "aarch64-unknown-linux-musl"),
    ("Darwin", "x86_64"): ("darwin-x64", "x86_64-apple-darwin"),
    ("Darwin", "arm64"): ("darwin-arm64", "aarch64-apple-darwin"),
    ("Windows", "AMD64"): ("win32-x64", "x86_64-pc-windows-msvc"),
    ("Windows", "ARM64"): ("win32-arm64", "aarch64-pc-windows-msvc"),
}


class CodexInstallError(RuntimeError):
    """Codex could not be found or installed."""


def codex_cache_dir() -> Path:
    """Where Codex versions are installed (one npm prefix per version)."""
    configured = os.environ.get("THREADSTORE_CODEX_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "threadstore-tests" / "codex"


def npm_available() -> bool:
    return shutil.which("npm") is not None


def _platform_ids() -> tuple[str, str]:
    key = (platform.system(), platform.machine())
    try:
        return _PLATFORMS[key]
    except KeyError as exc:
        raise CodexInstallError(f"no Codex build for platform {key}") from exc


@dataclass(frozen=True)
class CodexInstall:
    """One installed Codex version."""

    version: str
    prefix: Path
    executable: Path
    """The native ``codex`` binary (not the Node launcher)."""
    path_dirs: tuple[Path, ...] = ()
    """Directories the Node launcher would put first on ``PATH`` (bundled ``rg``)."""


def find_codex_executable(prefix: Path) -> CodexInstall | None:
    """The native executable inside an npm prefix, or ``None`` if it is not installed there.

    The ``@openai/codex`` package is a Node launcher (``bin/codex.js``); the binary ships in an
    optional dependency aliased as ``@openai/codex-<platform>`` (really
    ``@openai/codex@<version>-<platform>``), under ``vendor/<target-triple>/codex/codex``, with
    ``vendor/<target-triple>/path/rg`` beside it (newer builds: ``vendor/<target-triple>/bin/codex``
    and ``codex-path/rg``). Older builds put ``vendor/`` in the main package.
    """
    suffix, triple = _platform_ids()
    exe_name = "codex.exe" if platform.system() == "Windows" else "codex"
    modules = prefix / "node_modules" / "@openai"
    main_pkg = modules / "codex" / "package.json"
    if not main_pkg.is_file():
        return None
    version = str(json.loads(main_pkg.read_text()).get("version", ""))
    for vendor in (modules / f"codex-{suffix}" / "vendor", modules / "codex" / "vendor"):
        arch_root = vendor / triple
        # Up to 0.128: codex/codex and path/rg; newer builds: bin/codex and codex-path/rg.
        for exe_dir, path_name in (("codex", "path"), ("bin", "codex-path")):
            exe = arch_root / exe_dir / exe_name
            if exe.is_file():
                path_dir = arch_root / path_name
                dirs = (path_dir,) if path_dir.is_dir() else ()
                return CodexInstall(version=version, prefix=prefix, executable=exe, path_dirs=dirs)
    return None


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_codex(
    version: str = EXEC_VERSION,
    cache_dir: Path | None = None,
    *,
    install: bool = True,
    timeout: float = 900.0,
) -> CodexInstall:
    """Return the given Codex version, installing it with npm into the cache when missing.

    Installs run ``npm install --prefix <cache>/<version> @openai/codex@<version>`` under a file
    lock, so parallel test workers install once.
    """
    cache = cache_dir if cache_dir is not None else codex_cache_dir()
    prefix = cache / version
    found = find_codex_executable(prefix)
    if found is not None and found.version == version:
        return found
    if not install:
        raise CodexInstallError(f"Codex {version} is not installed under {prefix}")
    npm = shutil.which("npm")
    if npm is None:
        raise CodexInstallError("npm is not available to install Codex")
    with _locked(cache / f".{version}.lock"):
        found = find_codex_executable(prefix)
        if found is not None and found.version == version:
            return found
        prefix.mkdir(parents=True, exist_ok=True)
        command = [
            npm,
            "install",
            "--prefix",
            str(prefix),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"@openai/codex@{version}",
        ]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if result.returncode != 0:
            raise CodexInstallError(
                f"npm install of @openai/codex@{version} failed ({result.returncode}):\n{result.stderr[-4000:]}"
            )
    found = find_codex_executable(prefix)
    if found is None:
        raise CodexInstallError(f"@openai/codex@{version} installed but no native binary for this platform was found")
    return found


def require_codex(version: str) -> CodexInstall:
    """The given Codex build for a test, installed from npm when missing.

    A machine of this project's kind has npm and reaches the registry, so a failed install fails
    the test (with npm's own message) instead of skipping it."""
    import pytest

    try:
        return ensure_codex(version)
    except CodexInstallError as exc:
        pytest.fail(f"could not install @openai/codex@{version}: {exc}")
