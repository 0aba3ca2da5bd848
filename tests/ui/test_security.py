"""What the page lets a browser do: it cannot be framed, runs only its own style and script, its
login redirect stays on its origin, and ``threadstore ui`` wants a token even on loopback unless
``--no-auth`` is given."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from threadstore import ReadThreadParams
from threadstore._backends.local import LocalThreadStore
from threadstore._runtime import ThreadManager
from threadstore._ui import create_app

from .helpers import IDS, seed

LOCAL = "http://127.0.0.1:8765"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    async def main() -> None:
        async with LocalThreadStore(tmp_path / "home") as store:
            await seed(store)

    asyncio.run(main())
    return tmp_path / "home"


def _nonce(csp: str) -> str:
    start = csp.index("'nonce-") + len("'nonce-")
    return csp[start : csp.index("'", start)]


def test_every_answer_forbids_framing_and_foreign_content(home: Path) -> None:
    app = create_app(lambda: LocalThreadStore(home), token="s3cret")
    with TestClient(app, base_url=LOCAL) as client:
        for response in (
            client.get("/", headers={"authorization": "Bearer s3cret"}),
            client.get(f"/t/{IDS['storage']}", headers={"authorization": "Bearer s3cret"}),
            client.get("/t/01a211bf-0000-7000-8000-000000000000", headers={"authorization": "Bearer s3cret"}),
            client.get("/"),  # refused: no token
            client.get("/", headers={"host": "attacker.example"}),  # refused: not this host
        ):
            assert response.headers["x-frame-options"] == "DENY"
            csp = response.headers["content-security-policy"]
            assert "default-src 'none'" in csp
            assert "frame-ancestors 'none'" in csp
            assert "form-action 'self'" in csp
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
        page = client.get(f"/t/{IDS['storage']}", headers={"authorization": "Bearer s3cret"})
        nonce = _nonce(page.headers["content-security-policy"])
        assert f'<style nonce="{nonce}">' in page.text
        assert f'<script nonce="{nonce}">' in page.text
        assert " style=" not in page.text
        assert "onsubmit" not in page.text
        again = client.get(f"/t/{IDS['storage']}", headers={"authorization": "Bearer s3cret"})
        assert _nonce(again.headers["content-security-policy"]) != nonce  # one per answer


def test_a_fork_is_told_from_its_parent(home: Path) -> None:
    async def fork() -> str:
        async with LocalThreadStore(home) as store:
            manager = ThreadManager(store)
            thread = await manager.fork_thread(IDS["caching"])
            await manager.shutdown_all(timeout=10)
            stored = await store.read_thread(ReadThreadParams(thread.thread_id))
            assert stored.forked_from_id == IDS["caching"]
            return thread.thread_id

    forked = asyncio.run(fork())
    with TestClient(create_app(lambda: LocalThreadStore(home)), base_url=LOCAL) as client:
        listing = client.get("/").text
        row = listing[listing.index(f'data-id="{forked}"') :]
        row = row[: row.index("</tr>")]
        assert f'fork of <a class="mono" href="/t/{IDS["caching"]}">' in row
        parent = listing[listing.index(f'data-id="{IDS["caching"]}"') :]
        assert "fork of" not in parent[: parent.index("</tr>")]
        page = client.get(f"/t/{forked}").text
        assert f'a fork of <a class="mono" href="/t/{IDS["caching"]}">{IDS["caching"]}</a>' in page


@contextmanager
def _ui(home: Path, *extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    command = [sys.executable, "-m", "threadstore", "--home", str(home), "ui", "--listen", "127.0.0.1:0", *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process, process.stdout.readline().strip()
    finally:
        process.terminate()
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def _status(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _raw_get(address: str, target: str) -> tuple[int, str]:
    """(status, Location) of ``GET target`` sent as is (a browser sends such paths; HTTP client
    libraries rewrite them)."""
    host, _, port = address.removeprefix("http://").split("/")[0].partition(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    location = next((line.split(":", 1)[1].strip() for line in head if line.lower().startswith("location:")), "")
    return int(head[0].split()[1]), location


def test_the_login_redirect_stays_on_the_page(home: Path) -> None:
    with _ui(home, "--auth-token", "s3cret") as (_, url):
        for path in ("//attacker.example/", "/\\attacker.example/", "///attacker.example/x", "/%2F%2Fattacker.example/"):
            status, location = _raw_get(url, f"{path}?token=s3cret&filter=a")
            assert status == 303, path
            assert location.startswith("/"), location
            assert not location.startswith(("//", "/\\")), location
            assert location.endswith("?filter=a")


def test_ui_wants_a_token_even_on_loopback(home: Path) -> None:
    with _ui(home, "--json") as (_, line):
        url = json.loads(line)["url"]
        base, _, token = url.partition("?token=")
        assert token
        assert _status(base) == 401
        assert _status(base, token) == 200
    with _ui(home, "--no-auth") as (_, url):
        assert url.startswith("http://127.0.0.1:")
        assert "token" not in url
        assert _status(url) == 200


def test_no_auth_is_for_loopback_only(home: Path) -> None:
    with _ui(home, "--no-auth", "--listen", "0.0.0.0:0") as (process, line):
        assert line == ""
        assert process.wait(timeout=20) == 2
        assert process.stderr is not None
        assert "--no-auth is for loopback addresses only" in process.stderr.read()
