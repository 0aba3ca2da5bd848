"""Run the real OpenAI Codex CLI offline from tests.

:class:`CodexCli` runs ``codex exec`` / ``codex exec resume`` and ``codex app-server`` (stdio
JSON-RPC, :mod:`.codex_app_server`) with an installed build (:mod:`.codex_install`) against a
``CODEX_HOME`` (:mod:`.codex_home`).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .codex_app_server import JSON, AppServerClient
from .codex_home import API_KEY_ENV
from .codex_install import CodexInstall

__all__ = ["CodexCli", "CodexRun"]

# Variables from the developer's environment that could point Codex elsewhere.
_SCRUBBED_ENV_PREFIXES = ("CODEX_", "OPENAI_", "AZURE_OPENAI_", "RUST_LOG")


@dataclass
class CodexRun:
    """Outcome of one ``codex exec`` process."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def events(self) -> list[JSON]:
        """``--json`` output: one JSON object per stdout line (other lines are skipped)."""
        parsed: list[JSON] = []
        for line in self.stdout.splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                parsed.append(value)
        return parsed

    @property
    def thread_id(self) -> str | None:
        """The id from the ``thread.started`` event (``--json``), else the ``session id:``
        header line that plain output prints on stderr."""
        for event in self.events:
            if event.get("type") == "thread.started" and isinstance(event.get("thread_id"), str):
                return str(event["thread_id"])
        for line in (self.stderr + "\n" + self.stdout).splitlines():
            key, _, value = line.strip().partition(":")
            if key.strip().lower() == "session id" and value.strip():
                return value.strip()
        return None

    @property
    def agent_messages(self) -> list[str]:
        return [
            str(event["item"].get("text", ""))
            for event in self.events
            if event.get("type") == "item.completed"
            and isinstance(event.get("item"), dict)
            and event["item"].get("type") == "agent_message"
        ]

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.args)}\nexit {self.returncode} after {self.duration:.2f}s\n"
            f"--- stdout ---\n{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-4000:]}"
        )


@dataclass
class CodexCli:
    """One Codex executable bound to a ``CODEX_HOME`` and a working directory."""

    install: CodexInstall
    home: Path
    cwd: Path
    api_key_env: str = API_KEY_ENV
    api_key: str = "sk-threadstore-fake"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    rust_log: str = "warn"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(_SCRUBBED_ENV_PREFIXES)}
        path_dirs = [str(d) for d in self.install.path_dirs]
        env["PATH"] = os.pathsep.join([*path_dirs, env.get("PATH", os.defpath)])
        env["CODEX_HOME"] = str(self.home)
        env[self.api_key_env] = self.api_key
        env["RUST_LOG"] = self.rust_log
        env["NO_COLOR"] = "1"
        env.update(self.extra_env)
        return env

    def run(self, args: Sequence[str], *, timeout: float = 120.0) -> CodexRun:
        """Run ``codex <args>`` to completion (stdin closed; output captured)."""
        command = [str(self.install.executable), *args]
        started = time.monotonic()
        try:
            result = subprocess.run(
                command,
                cwd=self.cwd,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            return CodexRun(
                args=command,
                returncode=-9,
                stdout=_as_text(exc.stdout),
                stderr=_as_text(exc.stderr) + f"\n[timed out after {timeout}s]",
                duration=time.monotonic() - started,
            )
        return CodexRun(
            args=command,
            returncode=result.returncode,
            stdout=result.stdout,
            stderr=result.stderr,
            duration=time.monotonic() - started,
        )

    @staticmethod
    def _exec_flags(json_output: bool) -> list[str]:
        flags = ["--skip-git-repo-check"]
        if json_output:
            flags.append("--json")
        return flags

    def exec(
        self,
        prompt: str,
        *,
        json_output: bool = True,
        extra_args: Sequence[str] = (),
        timeout: float = 120.0,
    ) -> CodexRun:
        """``codex exec [--json] --skip-git-repo-check <prompt>``."""
        args = ["exec", *self._exec_flags(json_output), *extra_args, "--", prompt]
        return self.run(args, timeout=timeout)

    def exec_resume(
        self,
        thread_id: str,
        prompt: str,
        *,
        json_output: bool = True,
        extra_args: Sequence[str] = (),
        timeout: float = 120.0,
    ) -> CodexRun:
        """``codex exec resume [--json] --skip-git-repo-check <thread id> <prompt>``."""
        args = [
            "exec",
            "resume",
            *self._exec_flags(json_output),
            *extra_args,
            "--",
            thread_id,
            prompt,
        ]
        return self.run(args, timeout=timeout)

    def app_server(self, *, extra_args: Sequence[str] = ()) -> AppServerClient:
        """Start ``codex app-server`` on stdio (use as a context manager)."""
        return AppServerClient(
            [str(self.install.executable), "app-server", *extra_args],
            cwd=self.cwd,
            env=self.env(),
        )

    def list_and_read_threads(
        self,
        *,
        list_params: JSON | None = None,
        include_turns: bool = True,
        timeout: float = 60.0,
    ) -> tuple[JSON, list[JSON]]:
        """One app-server session: ``thread/list`` then ``thread/read`` of every listed thread.

        Returns the ``thread/list`` result and the ``thread/read`` results, in list order.
        """
        with self.app_server() as client:
            client.initialize(timeout=timeout)
            listed = client.thread_list(timeout=timeout, **(list_params or {}))
            reads = [
                client.thread_read(str(t["id"]), include_turns=include_turns, timeout=timeout)
                for t in listed.get("data", [])
            ]
        return listed, reads


def _as_text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
