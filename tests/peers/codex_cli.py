"""Drive the real OpenAI Codex CLI offline from tests.

* :func:`ensure_codex` finds (or installs with npm) a given ``@openai/codex`` version in a cache
  directory (``$THREADSTORE_CODEX_CACHE``, default ``~/.cache/threadstore-tests/codex``) and
  returns the native executable shipped in the platform package.
* :func:`write_codex_home` writes a ``CODEX_HOME`` whose ``config.toml`` points a model provider
  at a local Responses server (see ``fake_responses.py``) and turns off everything that would
  reach the network.
* :class:`CodexCli` runs ``codex exec`` / ``codex exec resume`` and ``codex app-server``
  (stdio JSON-RPC) against that home.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

__all__ = [
    "API_KEY_ENV",
    "APP_SERVER_VERSION",
    "EXEC_VERSION",
    "AppServerClient",
    "AppServerError",
    "CodexCli",
    "CodexInstall",
    "CodexInstallError",
    "CodexRun",
    "codex_cache_dir",
    "ensure_codex",
    "find_codex_executable",
    "make_git_repo",
    "npm_available",
    "require_codex",
    "rollout_files",
    "write_codex_home",
]

JSON = dict[str, Any]

EXEC_VERSION = "0.125.0"
"""The 0.125-era build used for ``codex exec`` / ``codex exec resume``."""
APP_SERVER_VERSION = "0.128.0"
"""The build used for ``codex app-server``."""

API_KEY_ENV = "THREADSTORE_FAKE_API_KEY"
"""Environment variable that carries the (fake) key for the fake provider."""

FAKE_MODEL = "gpt-fake"

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

# Variables from the developer's environment that could point Codex elsewhere.
_SCRUBBED_ENV_PREFIXES = ("CODEX_", "OPENAI_", "AZURE_OPENAI_", "RUST_LOG")


class CodexInstallError(RuntimeError):
    """Codex could not be found or installed."""


class AppServerError(RuntimeError):
    """A JSON-RPC error answer from ``codex app-server``."""

    def __init__(self, method: str, error: JSON) -> None:
        self.method = method
        self.error = error
        super().__init__(f"{method}: {error.get('code')} {error.get('message')}")


# --------------------------------------------------------------------------------------------
# Locating / installing


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


# --------------------------------------------------------------------------------------------
# CODEX_HOME and workspace


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


# --------------------------------------------------------------------------------------------
# Running


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


# --------------------------------------------------------------------------------------------
# app-server (stdio JSON-RPC: one JSON object per line, no "jsonrpc" member)


class AppServerClient:
    """A minimal client for ``codex app-server`` over stdio."""

    def __init__(self, command: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> None:
        self.command = list(command)
        self.cwd = cwd
        self.env = dict(env)
        self.notifications: list[JSON] = []
        """Server notifications received so far (``{"method", "params"}``)."""
        self.server_requests: list[JSON] = []
        """Server-to-client requests received so far (answered with an error)."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._responses: dict[int, queue.Queue[JSON]] = {}
        self._lock = threading.Lock()
        self._next_id = 0
        self._stderr_chunks: list[bytes] = []
        self._threads: list[threading.Thread] = []

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._proc is not None:
            return self
        self._proc = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if self._proc.stdout is None or self._proc.stderr is None:
            raise RuntimeError("app-server pipes were not created")
        readers = ((self._read_stdout, self._proc.stdout), (self._read_stderr, self._proc.stderr))
        for target, stream in readers:
            thread = threading.Thread(target=target, args=(stream,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close(self, timeout: float = 10.0) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        if proc.stdin is not None and not proc.stdin.closed:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for thread in self._threads:
            thread.join(timeout=5)
        return proc.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr_chunks).decode("utf-8", "replace")

    # plumbing --------------------------------------------------------------------------------

    def _read_stdout(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.strip()
            if not line:
                continue
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if "method" in message and "id" in message:
                self.server_requests.append(message)
                self._send(
                    {
                        "id": message["id"],
                        "error": {"code": -32601, "message": "not supported by test client"},
                    }
                )
            elif "method" in message:
                self.notifications.append(message)
            elif "id" in message:
                with self._lock:
                    waiter = self._responses.get(message["id"])
                if waiter is not None:
                    waiter.put(message)
        with self._lock:
            waiters = list(self._responses.values())
        for waiter in waiters:
            waiter.put({"error": {"code": -1, "message": "app-server closed stdout"}})

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self._stderr_chunks.append(raw)

    def _send(self, message: JSON) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise RuntimeError("app-server not started")
        data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            proc.stdin.write(data)
            proc.stdin.flush()

    # JSON-RPC ----------------------------------------------------------------------------------

    def notify(self, method: str, params: JSON | None = None) -> None:
        message: JSON = {"method": method}
        if params is not None:
            message["params"] = params
        self._send(message)

    def request(self, method: str, params: JSON | None = None, *, timeout: float = 60.0) -> Any:
        """Send a request and wait for its answer; raises :class:`AppServerError` on error."""
        with self._lock:
            request_id = self._next_id
            self._next_id += 1
            waiter: queue.Queue[JSON] = queue.Queue()
            self._responses[request_id] = waiter
        message: JSON = {"method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        self._send(message)
        try:
            answer = waiter.get(timeout=timeout)
        except queue.Empty as exc:
            raise TimeoutError(
                f"app-server gave no answer to {method} in {timeout}s; stderr:\n{self.stderr[-4000:]}"
            ) from exc
        finally:
            with self._lock:
                self._responses.pop(request_id, None)
        if "error" in answer:
            error = answer["error"]
            raise AppServerError(method, error if isinstance(error, dict) else {"message": error})
        return answer.get("result")

    def initialize(
        self,
        *,
        client_name: str = "threadstore_tests",
        version: str = "0.0.0",
        experimental_api: bool = False,
        timeout: float = 60.0,
    ) -> JSON:
        """``initialize`` with ``clientInfo`` followed by the ``initialized`` notification."""
        params: JSON = {"clientInfo": {"name": client_name, "title": "threadstore tests", "version": version}}
        if experimental_api:
            params["capabilities"] = {"experimentalApi": True}
        result = self.request("initialize", params, timeout=timeout)
        self.notify("initialized")
        return dict(result or {})

    def thread_list(self, *, timeout: float = 60.0, **params: Any) -> JSON:
        """``thread/list`` (camelCase params such as ``limit``, ``sourceKinds``, ``archived``)."""
        return dict(self.request("thread/list", params, timeout=timeout) or {})

    def thread_read(self, thread_id: str, *, include_turns: bool = True, timeout: float = 60.0) -> JSON:
        return dict(
            self.request(
                "thread/read",
                {"threadId": thread_id, "includeTurns": include_turns},
                timeout=timeout,
            )
            or {}
        )
