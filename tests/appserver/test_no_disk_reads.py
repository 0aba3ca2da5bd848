"""The app server reads nothing of its own disk for a client: a ``cwd`` a client names is a path
of the client's machine, so a thread's git facts come from the client (``thread/metadata/update``)
or not at all, never from ``<cwd>/.git`` here (which could hand a repository's credentials back,
or stall the server on a FIFO)."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from threadstore import ReadThreadParams
from threadstore._backends.local import LocalThreadStore
from threadstore._runtime import BuiltinModel, ThreadManager

from .client import InProcessClient

SECRET_URL = "https://user:secret-token@example.com/private.git"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[InProcessClient]:
    store = LocalThreadStore(tmp_path / "home")
    client = InProcessClient(ThreadManager(store, model=BuiltinModel(), source="vscode"))
    await client.call("initialize", {"clientInfo": {"name": "tests", "version": "1"}})
    try:
        yield client
    finally:
        if not client.task.done():
            await client.close()
        await store.close()


def _repository(root: Path) -> Path:
    git = root / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("0123456789abcdef0123456789abcdef01234567\n")
    (git / "config").write_text(f'[remote "origin"]\n\turl = {SECRET_URL}\n')
    return root


@contextlib.contextmanager
def _fifo_head(root: Path) -> Iterator[Path]:
    """A repository whose ``.git/HEAD`` is a FIFO (reading it waits for a writer forever); any
    reader left waiting is let go at the end."""
    git = root / ".git"
    git.mkdir(parents=True)
    head = git / "HEAD"
    os.mkfifo(head)
    try:
        yield root
    finally:
        for _ in range(64):  # one open for writing releases every reader waiting then
            try:
                fd = os.open(head, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: nobody reads it
                    raise
                break
            os.close(fd)


async def _turn(client: InProcessClient, thread_id: str) -> None:
    params = {"threadId": thread_id, "input": [{"type": "text", "text": "hello"}]}
    turn = (await client.call("turn/start", params))["turn"]
    await client.wait(lambda m: m.get("method") == "turn/completed" and m["params"]["turn"]["id"] == turn["id"])


async def test_a_clients_cwd_is_not_read_for_git_facts(client: InProcessClient, tmp_path: Path) -> None:
    repo = _repository(tmp_path / "repo")
    started = await client.call("thread/start", {"cwd": str(repo)})
    thread_id = started["thread"]["id"]
    assert started["thread"]["gitInfo"] is None
    await _turn(client, thread_id)
    stored = await client.server.manager.store.read_thread(ReadThreadParams(thread_id))
    assert stored.cwd == str(repo)
    assert stored.git_info is None
    assert SECRET_URL not in str(await client.call("thread/read", {"threadId": thread_id}))


async def test_a_fifo_in_a_clients_repository_does_not_stall_the_server(
    client: InProcessClient, tmp_path: Path
) -> None:
    with _fifo_head(tmp_path / "repo") as repo:
        for _ in range(8):
            started = await client.call("thread/start", {"cwd": str(repo)})
            assert started["thread"]["gitInfo"] is None
        assert len((await client.call("thread/loaded/list"))["data"]) == 8


async def test_git_facts_come_from_the_client_and_a_fork_keeps_them(client: InProcessClient, tmp_path: Path) -> None:
    thread_id = (await client.call("thread/start", {"cwd": str(_repository(tmp_path / "repo"))}))["thread"]["id"]
    await _turn(client, thread_id)
    given = {"sha": "abc123", "branch": "feature", "originUrl": "https://example.com/r.git"}
    updated = await client.call("thread/metadata/update", {"threadId": thread_id, "gitInfo": given})
    assert updated["thread"]["gitInfo"] == given
    forked = await client.call("thread/fork", {"threadId": thread_id})
    assert forked["thread"]["gitInfo"] == given
