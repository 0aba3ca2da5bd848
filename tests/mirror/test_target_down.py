"""A target that goes away: the mirror keeps following the homes and queuing (one entry per
thread, however much is written), retries with backoff, and once the target is back everything
arrives, once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from threadstore import ReadThreadParams
from threadstore._backends.registry import open_store
from threadstore._server.app import start_server

from ..fixtures import CODEX_HOME_0125
from ..postgres_server import PostgresServer
from .support import append, codex_home, codex_line, eventually, rollouts, running


async def test_a_server_that_goes_away_loses_and_doubles_nothing(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    dsn = postgres_server.create_database()
    home = codex_home(CODEX_HOME_0125, tmp_path / "home")
    server = await start_server("127.0.0.1:0", open_store(dsn))
    address = server.address
    target = open_store(server.url, timeout=2.0)
    try:
        async with running(target, home) as mirror:
            await mirror.exact(target, home)
            await server.stop(grace=0)
            paths = list(rollouts(home).values())
            for n in range(200):  # written while the target is away
                append(paths[n % len(paths)], codex_line(f"while away {n}"))
            await eventually(lambda: _is(mirror.mirror.status().target_down is not None))
            await asyncio.sleep(1.0)
            status = mirror.mirror.status()
            assert status.queued <= len(paths)  # threads queued, not lines
            assert status.lines == sum(e.lines for e in mirror.events)
            server = await start_server(address, open_store(dsn))
            await mirror.exact(target, home, within=60)
            await eventually(lambda: _is("target_up" in mirror.kinds()))
        assert "target_down" in mirror.kinds()
        # Every line once: the target's threads equal the rollouts (checked above), and the
        # checkpoints written at the stop say so too.
        for thread_id, path in rollouts(home).items():
            thread = await target.read_thread(ReadThreadParams(thread_id, include_archived=True))
            assert f"lines={len(path.read_bytes().splitlines())} " in " ".join(thread.labels.values())
    finally:
        await target.close()
        await server.stop()
        postgres_server.drop_database(dsn)


async def _is(value: bool) -> bool:
    return value
