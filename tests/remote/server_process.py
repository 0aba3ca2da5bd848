"""Run ``threadstore serve`` as a separate process for tests (like a real deployment)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


@contextmanager
def serve_process(store_url: str = "memory:", extra: Sequence[str] = ()) -> Iterator[str]:
    """Start a server on a free loopback port; yield its ``HOST:PORT``; kill it afterwards."""
    with serving(store_url, extra) as (address, _):
        yield address


@contextmanager
def serving(store_url: str = "memory:", extra: Sequence[str] = ()) -> Iterator[tuple[str, int]]:
    """:func:`serve_process`, yielding the server's process id too."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "threadstore._server",
            "--listen",
            "127.0.0.1:0",
            "--store",
            store_url,
            "--quiet",
            *extra,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            process.kill()
            _, err = process.communicate(timeout=10)
            raise RuntimeError(f"server did not start: {line!r} {err[-2000:]}")
        yield line.split()[-1], process.pid
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)
