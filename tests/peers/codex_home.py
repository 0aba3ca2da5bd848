"""A ``CODEX_HOME`` for an offline Codex, and the workspace it runs in.

:func:`write_codex_home` writes a ``config.toml`` that points a model provider at a local
Responses server (see ``fake_responses.py``) and turns off everything that would reach the
network; :func:`make_git_repo` makes the workspace; :func:`rollout_files` lists what Codex wrote.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

__all__ = ["API_KEY_ENV", "FAKE_MODEL", "make_git_repo", "rollout_files", "write_codex_home"]

API_KEY_ENV = "THREADSTORE_FAKE_API_KEY"
"""Environment variable that carries the (fake) key for the fake provider."""

FAKE_MODEL = "gpt-fake"

# Features that reach the network (plugin/app sync, analytics) or add nothing offline.
# Unknown names are ignored by the builds we use (0.125.0, 0.128.0).
_DISABLED_FEATURES = (
    "plugins",
    "apps",
    "tool_suggest",
    "enable_request_compression",
    "image_generation",
    "browser_use",
    "computer_use",
    "in_app_browser",
    "shell_snapshot",
    "skill_mcp_dependency_install",
)


def _toml_str(value: str) -> str:
    # JSON string escapes are a subset of TOML basic-string escapes.
    return json.dumps(value)


def write_codex_home(
    home: Path,
    *,
    base_url: str,
    model: str = FAKE_MODEL,
    provider_id: str = "fake",
    env_key: str = API_KEY_ENV,
    thread_store_endpoint: str | None = None,
    extra_toml: str = "",
) -> Path:
    """Write ``home/config.toml`` for an offline Codex and return its path.

    The provider speaks the Responses wire API at ``base_url`` (which must include any
    ``/v1`` prefix), retries are off so failures are fast, and analytics, feedback, OTEL
    export and update checks are disabled so Codex opens no other connection.
    ``thread_store_endpoint`` sets ``experimental_thread_store_endpoint`` (a remote gRPC store).
    """
    home.mkdir(parents=True, exist_ok=True)
    lines = [
        f"model = {_toml_str(model)}",
        f"model_provider = {_toml_str(provider_id)}",
        'approval_policy = "never"',
        'sandbox_mode = "read-only"',
        "check_for_update_on_startup = false",
    ]
    if thread_store_endpoint is not None:
        lines.append(f"experimental_thread_store_endpoint = {_toml_str(thread_store_endpoint)}")
    lines += [
        "",
        "[analytics]",
        "enabled = false",
        "",
        "[feedback]",
        "enabled = false",
        "",
        "[otel]",
        'exporter = "none"',
        'metrics_exporter = "none"',
        'trace_exporter = "none"',
        "log_user_prompt = false",
        "",
        "[features]",
        *(f"{name} = false" for name in _DISABLED_FEATURES),
        "",
        f"[model_providers.{provider_id}]",
        'name = "Fake Responses"',
        f"base_url = {_toml_str(base_url)}",
        'wire_api = "responses"',
        f"env_key = {_toml_str(env_key)}",
        "request_max_retries = 0",
        "stream_max_retries = 0",
        "stream_idle_timeout_ms = 30000",
        "",
    ]
    text = "\n".join(lines)
    if extra_toml:
        text += "\n" + extra_toml.strip() + "\n"
    path = home / "config.toml"
    path.write_text(text)
    return path


def make_git_repo(path: Path) -> Path:
    """Create an empty git repository at ``path`` (Codex expects a trusted git workspace)."""
    path.mkdir(parents=True, exist_ok=True)
    git = shutil.which("git")
    if git is not None and not (path / ".git").exists():
        subprocess.run(
            [git, "init", "-q", str(path)],
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
    return path


def rollout_files(home: Path, *, archived: bool = False) -> list[Path]:
    """Rollout files under ``home/sessions`` (or ``archived_sessions``), oldest name first."""
    root = home / ("archived_sessions" if archived else "sessions")
    if not root.is_dir():
        return []
    return sorted(root.rglob("rollout-*.jsonl"), key=lambda p: p.name)
