"""``threadstore app-server --listen ws://127.0.0.1:0`` driven by real WebSocket clients (the
``websockets`` client library) over loopback: bearer-token refusal, several clients at once,
notifications only to the connections subscribed to a thread, and an orderly stop on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from threadstore import ReadThreadParams
from threadstore._backends.local import LocalThreadStore

from .client import DEFAULT_TIMEOUT
from .wsclient import WsClient, app_server_process

TOKEN = "a-long-random-test-token"
TURN_METHODS = {"turn/started", "turn/completed", "item/started", "item/completed", "item/agentMessage/delta"}


def _token_file(tmp_path: Path) -> str:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return str(path)


def _turn_notifications(messages: list[dict[str, Any]], thread_id: str) -> list[str]:
    return [m["method"] for m in messages if m.get("method") in TURN_METHODS and m["params"]["threadId"] == thread_id]


async def _turn(client: WsClient, thread_id: str, text: str) -> list[dict[str, Any]]:
    """Start a turn; every message up to its ``turn/completed``."""
    turn = (await client.call("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": text}]}))["turn"]
    seen: list[dict[str, Any]] = []
    while True:
        message = await client.wait(lambda m: "method" in m)
        seen.append(message)
        if message["method"] == "turn/completed" and message["params"]["turn"]["id"] == turn["id"]:
            return seen


async def test_bearer_token_is_required(tmp_path: Path) -> None:
    with app_server_process(tmp_path / "home", "--token-file", _token_file(tmp_path)) as (url, _):
        for headers in (None, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url, additional_headers=headers, open_timeout=DEFAULT_TIMEOUT):
                    pass
            assert refused.value.response.status_code == 401
        # A web page (its browser sends Origin) is refused even with the token.
        headers = {"Authorization": f"Bearer {TOKEN}", "Origin": "https://example.com"}
        with pytest.raises(InvalidStatus) as forbidden:
            async with connect(url, additional_headers=headers, open_timeout=DEFAULT_TIMEOUT):
                pass
        assert forbidden.value.response.status_code == 403
        # Health checks need no token.
        health = url.replace("ws://", "http://") + "/healthz"
        with await asyncio.to_thread(urllib.request.urlopen, health, timeout=DEFAULT_TIMEOUT) as answer:
            assert answer.status == 200
        async with WsClient.connect(url, TOKEN) as client:
            assert (await client.error("thread/list")) == {"code": -32600, "message": "Not initialized"}
            await client.initialize()
            assert await client.call("thread/loaded/list") == {"data": [], "nextCursor": None}


async def test_several_clients_receive_only_their_threads(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with app_server_process(home, "--token", TOKEN) as (url, proc):
        async with WsClient.connect(url, TOKEN) as alice, WsClient.connect(url, TOKEN) as bob:
            await alice.initialize()
            await bob.initialize()
            mine = (await alice.call("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
            theirs = (await bob.call("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
            # Catalogue changes reach everyone.
            for client in (alice, bob):
                started = {(await client.notification("thread/started"))["params"]["thread"]["id"] for _ in range(2)}
                assert started == {mine, theirs}

            # Both clients run turns at the same time, each on its own thread.
            alice_turn, bob_turn = await asyncio.gather(
                _turn(alice, mine, "from alice"), _turn(bob, theirs, "from bob")
            )
            assert "turn/completed" in _turn_notifications(alice_turn, mine)
            assert "turn/completed" in _turn_notifications(bob_turn, theirs)
            assert _turn_notifications(alice_turn + await alice.received_so_far(), theirs) == []
            assert _turn_notifications(bob_turn + await bob.received_so_far(), mine) == []

            # Bob rejoins Alice's thread: both now hear its turns.
            resumed = await bob.call("thread/resume", {"threadId": mine})
            assert [t["status"] for t in resumed["thread"]["turns"]] == ["completed"]
            await _turn(alice, mine, "both listen")
            heard = await bob.wait(lambda m: m.get("method") == "turn/completed" and m["params"]["threadId"] == mine)
            assert heard["params"]["turn"]["status"] == "completed"

            # Alice unsubscribes: Bob's next turn on the thread reaches Bob only.
            assert await alice.call("thread/unsubscribe", {"threadId": mine}) == {"status": "unsubscribed"}
            await alice.received_so_far()
            await _turn(bob, mine, "only bob hears this")
            assert _turn_notifications(await alice.received_so_far(), mine) == []

            # A client that comes and goes does not disturb the others.
            async with WsClient.connect(url, TOKEN) as carol:
                await carol.initialize()
                await carol.call("thread/resume", {"threadId": theirs})
            await _turn(bob, theirs, "after carol left")

            # Deleting a thread another client has loaded: it is shut down, everyone hears it.
            assert await alice.call("thread/delete", {"threadId": theirs}) == {}
            for client in (alice, bob):
                assert (await client.notification("thread/deleted"))["params"] == {"threadId": theirs}
            assert await bob.call("thread/loaded/list") == {"data": [mine], "nextCursor": None}

        # SIGTERM: the server stops in order and everything said is stored.
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
    async with LocalThreadStore(home) as store:
        stored = await store.read_thread(ReadThreadParams(mine, include_history=True))
        assert stored.history is not None
        texts = [i["payload"]["message"] for i in stored.history.items if i["payload"].get("type") == "user_message"]
        assert texts == ["from alice", "both listen", "only bob hears this"]


def test_bad_listen_and_token_options(tmp_path: Path) -> None:
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "threadstore", "--store", f"local:{tmp_path / 'home'}", "app-server"]
        return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

    for args, message in [
        (("--listen", "http://127.0.0.1:1"), "unsupported --listen"),
        (("--listen", "ws://127.0.0.1"), "must be ws://HOST:PORT"),
        (("--listen", "ws://0.0.0.0:0"), "needs a bearer token"),
        (("--listen", "ws://127.0.0.1:0", "--token", "a", "--token-file", "b"), "not both"),
        (("--listen", "ws://127.0.0.1:0", "--token", "  "), "token is empty"),
        (("--token", "a"), "ws:// listeners only"),
    ]:
        result = run(*args)
        assert result.returncode == 2, (args, result.stderr)  # a usage error, like every bad option
        assert message in result.stderr, (args, result.stderr)


async def test_a_connection_that_leaves_takes_its_subscriptions(tmp_path: Path) -> None:
    """In-process server on an ephemeral port, with a short idle delay: when the only subscriber
    disconnects, the thread is unloaded and the other connections hear ``thread/closed``."""
    from threadstore._appserver.websocket import WebSocketAppServer
    from threadstore._runtime import BuiltinModel, ThreadManager

    async with LocalThreadStore(tmp_path / "home") as store:
        server = WebSocketAppServer(ThreadManager(store, model=BuiltinModel()), "127.0.0.1", 0, idle_unload_delay=0.01)
        await server.start()
        try:
            async with WsClient.connect(server.url, None) as watcher:
                await watcher.initialize()
                async with WsClient.connect(server.url, None) as leaver:
                    await leaver.initialize()
                    thread_id = (await leaver.call("thread/start", {"cwd": str(tmp_path)}))["thread"]["id"]
                    await _turn(leaver, thread_id, "said before leaving")
                closed = await watcher.notification("thread/closed")
                assert closed["params"] == {"threadId": thread_id}
                assert await watcher.call("thread/loaded/list") == {"data": [], "nextCursor": None}
                read = (await watcher.call("thread/read", {"threadId": thread_id, "includeTurns": True}))["thread"]
                assert [t["status"] for t in read["turns"]] == ["completed"]
        finally:
            await server.close()
