"""Shared helpers of the command-line tests: seeding stores through the runtime."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from typer.testing import CliRunner

from threadstore import ThreadConfig, ThreadManager, ThreadStore
from threadstore._backends.registry import open_store
from threadstore._cli import app

T = TypeVar("T")

runner = CliRunner()


def invoke(url: str, *args: str, input: str | None = None) -> tuple[int, str, str]:
    """Run ``threadstore --store url ARGS``; return (exit code, stdout, stderr)."""
    result = runner.invoke(app, ["--store", url, *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def with_store(url: str, work: Callable[[ThreadStore], Awaitable[T]]) -> T:
    """Open ``url``, run ``work`` on it and close it (from synchronous test code)."""

    async def main() -> T:
        store = open_store(url)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(main())


async def chat(store: ThreadStore, texts: Sequence[str], cwd: Path | str = "/srv/work") -> str:
    """Start a thread on the built-in model, run one turn per text, shut it down; its id."""
    manager = ThreadManager(store)
    thread = await manager.start_thread(ThreadConfig(cwd=str(cwd)))
    for text in texts:
        await thread.submit({"type": "user_input", "items": [{"type": "text", "text": text}]})
        while (await thread.next_event()).type != "task_complete":
            pass
    report = await manager.shutdown_all(timeout=10)
    assert report.all_stopped
    return thread.thread_id


def without_meta_timestamp(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items with the first ``session_meta``'s timestamp removed (a copy writes its own)."""
    out = [dict(item) for item in items]
    if out and out[0].get("type") == "session_meta":
        out[0]["payload"] = {k: v for k, v in out[0]["payload"].items() if k != "timestamp"}
    return out


def user_texts(items: Sequence[dict[str, Any]]) -> list[str]:
    """The texts of the ``user_message`` events, in order."""
    return [
        i["payload"]["message"]
        for i in items
        if i.get("type") == "event_msg" and i["payload"].get("type") == "user_message"
    ]
