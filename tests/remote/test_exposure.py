"""A server that listens beyond loopback without a token is refused unless ``--insecure`` is
given, and then says so. (Nothing here binds beyond loopback: the refusals come before any
socket, and the warning is checked with the binding left out.)"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from threadstore import InvalidRequest
from threadstore._server import main as server_main
from threadstore._server.main import ServeOptions, run

from ..cli.helpers import invoke


@pytest.mark.parametrize("listen", ["0.0.0.0:50051", "[::]:50051", "192.0.2.10:50051", ":50051"])
def test_beyond_loopback_without_a_token_is_refused(listen: str) -> None:
    with pytest.raises(InvalidRequest, match="without a token would let anyone"):
        ServeOptions(store_url="memory:", listen=listen)
    assert ServeOptions(store_url="memory:", listen=listen, token="t0ken").open_to_all is False
    assert ServeOptions(store_url="memory:", listen=listen, insecure=True).open_to_all is True


@pytest.mark.parametrize("listen", ["127.0.0.1:0", "localhost:0", "[::1]:0"])
def test_loopback_needs_no_token(listen: str) -> None:
    assert ServeOptions(store_url="memory:", listen=listen).open_to_all is False


def test_the_commands_refuse_it_in_one_line() -> None:
    code, _, err = invoke("memory:", "serve", "--listen", "0.0.0.0:0")
    assert code == 2
    assert err.startswith("error: listening on 0.0.0.0:0 without a token")
    assert err.count("\n") == 1
    process = subprocess.run(
        [sys.executable, "-m", "threadstore._server", "--listen", "0.0.0.0:0", "--store", "memory:"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 1
    assert "--insecure" in process.stderr
    assert process.stdout == ""


def test_insecure_serves_and_says_so(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    served: list[str] = []

    async def not_binding(listen: str, store: Any, **options: Any) -> None:
        served.append(listen)
        await store.close()

    monkeypatch.setattr(server_main, "serve", not_binding)
    run(ServeOptions(store_url="memory:", listen="0.0.0.0:50051", insecure=True))
    assert served == ["0.0.0.0:50051"]
    assert "warning: serving on 0.0.0.0:50051 without a token (--insecure)" in capsys.readouterr().err
