"""``threadstore chat [ID]``: a terminal conversation with a thread.

Each line read from stdin becomes a ``user_input`` op; the answer's ``agent_message_delta`` text
is written to stdout as it arrives, and a newline ends it at ``task_complete``. Errors of a turn
go to stderr and the conversation goes on; the exit status is then 1 (after the thread was shut
down and stored). ``/quit`` or end of input shuts the thread down cleanly (everything said is
then stored) and prints on stderr how to resume it. It works the same with stdin piped
(``printf 'hi\\n' | threadstore chat``); prompts appear only on a terminal. With ``--json``
nothing is streamed: one object ``{"thread_id", "turns": [{"input", "answer", "errors"}]}`` is
printed at the end. A model that needs an API key it does not have is refused before anything
is sent or stored.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Final, TextIO

import typer

from threadstore._cli.app import app, globals_of
from threadstore._cli.errors import CliFailure
from threadstore._cli.models import (
    ApiKeyEnvOption,
    BaseUrlOption,
    ModelChoice,
    ModelNameOption,
    ModelOption,
    model_client,
)
from threadstore._cli.output import print_json
from threadstore._cli.resolve import resolve_thread_id
from threadstore._cli.runner import run_store, store_url
from threadstore._contract.base import ThreadStore
from threadstore._contract.types import LoadThreadHistoryParams, ReadThreadParams
from threadstore._lines import LineReader
from threadstore._rollout.items import base_instructions
from threadstore._runtime.config import ThreadConfig
from threadstore._runtime.errors import ThreadClosed
from threadstore._runtime.manager import ThreadManager
from threadstore._runtime.thread import Thread

__all__ = ["ModelChoice", "chat_cmd", "converse"]

QUIT: Final = "/quit"
SHUTDOWN_TIMEOUT: Final = 30.0
_TURN_END: Final = frozenset({"task_complete", "turn_aborted"})


def _write(stream: TextIO, text: str) -> None:
    stream.write(text)
    stream.flush()


@dataclass
class Turn:
    """What one turn said: the input, the answer as streamed, the errors."""

    input: str
    answer: str = ""
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"input": self.input, "answer": self.answer, "errors": list(self.errors)}


async def run_turn(thread: Thread, text: str, out: TextIO, err: TextIO) -> Turn:
    """Submit ``text`` and stream the answer to ``out`` until the turn ends (``task_complete``
    or ``turn_aborted``; or an ``error`` before the turn started, for input the thread refused).
    Turn errors go to ``err``. Returns what the turn said."""
    turn = Turn(text)
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
            turn.answer += msg["delta"]
            streamed = True
        elif event.type == "agent_message" and not streamed and isinstance(msg.get("message"), str):
            _write(out, msg["message"])  # a model that did not stream
            turn.answer += msg["message"]
            streamed = True
        elif event.type == "error":
            if streamed:
                _write(out, "\n")
                streamed = False
            turn.errors.append(str(msg.get("message")))
            _write(err, f"error: {msg.get('message')}\n")
            if not started:
                return turn
        elif event.type in _TURN_END:
            if streamed:
                _write(out, "\n")
            return turn


async def converse(thread: Thread, reader: LineReader[str], out: TextIO, err: TextIO, *, prompt: bool) -> list[Turn]:
    """Run one turn per input line until ``/quit`` or end of input; returns the turns. Blank
    lines are ignored."""
    turns: list[Turn] = []
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
        turns.append(await run_turn(thread, text, out, err))


async def open_thread(
    manager: ThreadManager, thread_id: str | None, *, cwd: str | None, model_name: str | None
) -> Thread:
    """A new thread (in ``cwd``, default the current directory), or ``thread_id`` resumed.

    A resumed thread keeps its stored settings, except that a different model (another
    provider than the one it was made with, or ``model_name``) answers from now on."""
    if thread_id is None:
        return await manager.start_thread(ThreadConfig(cwd=cwd or os.getcwd(), model=model_name))
    if cwd is not None:
        raise CliFailure("--cwd applies to new threads only (a resumed thread keeps its directory)", "usage")
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
    thread_id: Annotated[
        str | None, typer.Argument(help="Resume this thread (id or 8+ character prefix; default: a new one).")
    ] = None,
    model: ModelOption = ModelChoice.builtin,
    base_url: BaseUrlOption = None,
    api_key_env: ApiKeyEnvOption = "OPENAI_API_KEY",
    model_name: ModelNameOption = None,
    cwd: Annotated[str | None, typer.Option("--cwd", help="Working directory of a new thread.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole conversation as JSON at the end.")] = False,
) -> None:
    """Chat in a thread: one turn per line of input; /quit or end of input to leave.

    The thread is stored as you go; resume it later with: threadstore chat ID. The exit status is
    1 when a turn failed.
    """
    url = store_url(ctx)
    named = globals_of(ctx).settings().store.origin in ("--store", "--home")
    resume_hint = f"threadstore --store {url} chat" if named else "threadstore chat"
    interactive = sys.stdin.isatty() and not as_json
    out, err = (io.StringIO(), io.StringIO()) if as_json else (sys.stdout, sys.stderr)
    client = model_client(model, base_url, api_key_env, model_name)  # a missing key fails here
    opened: list[str] = []

    async def work(store: ThreadStore) -> list[Turn]:
        manager = ThreadManager(store, model=client)
        try:
            resolved = await resolve_thread_id(store, thread_id, url) if thread_id is not None else None
            thread = await open_thread(manager, resolved, cwd=cwd, model_name=model_name)
            opened.append(thread.thread_id)
            if interactive:
                snapshot = thread.config_snapshot()
                _write(sys.stderr, f"thread {thread.thread_id} ({snapshot.model}); {QUIT} or Ctrl-D to leave\n")
            turns = await converse(
                thread, LineReader(sys.stdin, "threadstore-chat-stdin"), out, err, prompt=interactive
            )
        except ThreadClosed as exc:
            raise CliFailure(f"the thread stopped unexpectedly: {exc}") from None
        finally:
            report = await manager.shutdown_all(timeout=SHUTDOWN_TIMEOUT)
            await client.aclose()
        if not report.all_stopped:
            raise CliFailure(f"thread {thread.thread_id} did not shut down cleanly")
        return turns

    try:
        turns = run_store(ctx, work, writes=True)
    except KeyboardInterrupt:
        turns = None  # interrupted: whatever was said is stored
    failed = sum(1 for t in turns or () if t.errors)
    if as_json and opened:
        stored = bool(turns) or thread_id is not None
        print_json({"thread_id": opened[0], "stored": stored, "turns": [t.to_json() for t in turns or ()]})
    elif opened and thread_id is None and turns == []:
        typer.echo(f"nothing was said; thread {opened[0]} was not stored", err=True)
    elif opened:
        typer.echo(f"thread {opened[0]}; resume with: {resume_hint} {opened[0]}", err=True)
    if turns is None:
        raise typer.Exit(130)
    if failed:
        if as_json:
            raise typer.Exit(1)
        raise CliFailure(f"{failed} of {len(turns)} turn{'s' if len(turns) != 1 else ''} failed (see the errors above)")
