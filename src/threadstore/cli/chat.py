"""``threadstore chat [ID]``: a terminal conversation with a thread.

Each line read from stdin becomes a ``user_input`` op; the answer's ``agent_message_delta`` text
is written to stdout as it arrives, and a newline ends it at ``task_complete``. Errors of a turn
go to stderr and the conversation goes on. ``/quit`` or end of input shuts the thread down
cleanly (everything said is then stored) and prints on stderr how to resume it. It works the
same with stdin piped (``printf 'hi\\n' | threadstore chat``); prompts appear only on a terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Annotated, Final, TextIO

import typer

from .._lines import LineReader
from ..items import base_instructions
from ..runtime.config import ThreadConfig
from ..runtime.errors import ThreadClosed
from ..runtime.manager import ThreadManager
from ..runtime.thread import Thread
from ..store.base import ThreadStore
from ..store.types import LoadThreadHistoryParams, ReadThreadParams
from .app import CliError, app, run_store, store_url
from .models import ModelChoice, model_client

__all__ = ["ModelChoice", "chat_cmd", "converse"]

QUIT: Final = "/quit"
SHUTDOWN_TIMEOUT: Final = 30.0
_TURN_END: Final = frozenset({"task_complete", "turn_aborted"})


def _write(stream: TextIO, text: str) -> None:
    stream.write(text)
    stream.flush()


async def run_turn(thread: Thread, text: str, out: TextIO, err: TextIO) -> None:
    """Submit ``text`` and stream the answer to ``out`` until the turn ends (``task_complete``
    or ``turn_aborted``; or an ``error`` before the turn started, for input the thread refused).
    Turn errors go to ``err``."""
    sub_id = await thread.submit({"type": "user_input", "items": [{"type": "text", "text": text}]})
    started = streamed = False
    while True:
        event = await thread.next_event()
        if event.id != sub_id:
            continue
        msg = event.msg
        if event.type == "task_started":
            started = True
        elif event.type == "agent_message_delta" and isinstance(msg.get("delta"), str):
            _write(out, msg["delta"])
            streamed = True
        elif event.type == "agent_message" and not streamed and isinstance(msg.get("message"), str):
            _write(out, msg["message"])  # a model that did not stream
            streamed = True
        elif event.type == "error":
            if streamed:
                _write(out, "\n")
                streamed = False
            _write(err, f"error: {msg.get('message')}\n")
            if not started:
                return
        elif event.type in _TURN_END:
            if streamed:
                _write(out, "\n")
            return


async def converse(thread: Thread, reader: LineReader[str], out: TextIO, err: TextIO, *, prompt: bool) -> int:
    """Run one turn per input line until ``/quit`` or end of input; returns the number of turns.
    Blank lines are ignored."""
    turns = 0
    while True:
        if prompt:
            _write(err, "> ")
        line = await reader.readline()
        if line is None:
            if prompt:
                _write(err, "\n")
            return turns
        text = line.rstrip("\r\n")
        if text.strip() == QUIT:
            return turns
        if not text.strip():
            continue
        await run_turn(thread, text, out, err)
        turns += 1


async def open_thread(
    manager: ThreadManager, thread_id: str | None, *, cwd: str | None, model_name: str | None
) -> Thread:
    """A new thread (in ``cwd``, default the current directory), or ``thread_id`` resumed.

    A resumed thread keeps its stored settings, except that a different model (another
    provider than the one it was made with, or ``model_name``) answers from now on."""
    if thread_id is None:
        return await manager.start_thread(ThreadConfig(cwd=cwd or os.getcwd(), model=model_name))
    if cwd is not None:
        raise CliError("--cwd applies to new threads only (a resumed thread keeps its directory)")
    store = manager.store
    stored = await store.read_thread(ReadThreadParams(thread_id, include_archived=True))
    client = manager.model
    if model_name is None and stored.model_provider == client.provider_id:
        return await manager.resume_thread(thread_id)
    history = await store.load_history(LoadThreadHistoryParams(thread_id, include_archived=True))
    sandbox = stored.sandbox_policy if isinstance(stored.sandbox_policy, Mapping) else {"type": "read-only"}
    config = ThreadConfig(
        cwd=stored.cwd or os.getcwd(),
        model=model_name or client.default_model,
        model_provider=client.provider_id,
        base_instructions=base_instructions(history.items),
        reasoning_effort=stored.reasoning_effort,
        approval_policy=stored.approval_mode or "never",
        sandbox_policy=sandbox,
        memory_mode=stored.memory_mode,
    )
    return await manager.resume_thread(thread_id, config)


@app.command("chat")
def chat_cmd(
    ctx: typer.Context,
    thread_id: Annotated[str | None, typer.Argument(help="Resume this thread (default: start a new one).")] = None,
    model: Annotated[ModelChoice, typer.Option("--model", help="Who answers.")] = ModelChoice.builtin,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Responses API base URL (default $OPENAI_BASE_URL or OpenAI).")
    ] = None,
    api_key_env: Annotated[
        str, typer.Option("--api-key-env", help="Environment variable holding the API key.")
    ] = "OPENAI_API_KEY",
    model_name: Annotated[str | None, typer.Option("--model-name", help="Model to ask (e.g. gpt-4.1-mini).")] = None,
    cwd: Annotated[str | None, typer.Option("--cwd", help="Working directory of a new thread.")] = None,
) -> None:
    """Chat in a thread: one turn per line of input; /quit or end of input to leave.

    The thread is stored as you go; resume it later with: threadstore chat ID.
    """
    url = store_url(ctx)
    root = ctx.find_root().obj
    resume_hint = (
        f"threadstore --store {url} chat" if isinstance(root, dict) and root.get("store") else "threadstore chat"
    )
    interactive = sys.stdin.isatty()
    opened: list[str] = []

    async def work(store: ThreadStore) -> int:
        client = model_client(model, base_url, api_key_env, model_name)
        manager = ThreadManager(store, model=client)
        try:
            thread = await open_thread(manager, thread_id, cwd=cwd, model_name=model_name)
            opened.append(thread.thread_id)
            if interactive:
                snapshot = thread.config_snapshot()
                _write(sys.stderr, f"thread {thread.thread_id} ({snapshot.model}); {QUIT} or Ctrl-D to leave\n")
            turns = await converse(
                thread, LineReader(sys.stdin, "threadstore-chat-stdin"), sys.stdout, sys.stderr, prompt=interactive
            )
        except ThreadClosed as exc:
            raise CliError(f"the thread stopped unexpectedly: {exc}") from None
        finally:
            report = await manager.shutdown_all(timeout=SHUTDOWN_TIMEOUT)
            aclose = getattr(client, "aclose", None)
            if aclose is not None:
                await aclose()
        if not report.all_stopped:
            raise CliError(f"thread {thread.thread_id} did not shut down cleanly")
        return turns

    try:
        turns = run_store(url, work)
    except KeyboardInterrupt:
        turns = -1  # interrupted: whatever was said is stored
    if opened and thread_id is None and turns == 0:
        typer.echo(f"nothing was said; thread {opened[0]} was not stored", err=True)
    elif opened:
        typer.echo(f"thread {opened[0]}; resume with: {resume_hint} {opened[0]}", err=True)
    if turns < 0:
        raise typer.Exit(130)
