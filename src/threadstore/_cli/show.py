"""``threadstore show ID``: one thread as a transcript people read, or its JSON.

On a terminal the transcript goes through a pager, as ``git log`` does: ``$THREADSTORE_PAGER``,
else ``$PAGER``, else ``less`` (with ``LESS=FRX`` unless ``$LESS`` is set: it quits at once when
the text fits on one screen and keeps the colours); an empty pager or ``cat`` means none, and so
does ``--no-pager``. ``--json`` prints the thread exactly as before (``history`` only with
``--history``).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console

from threadstore._cli.app import app
from threadstore._cli.jsonout import thread_to_json
from threadstore._cli.output import out_console, print_json
from threadstore._cli.resolve import resolve_thread_id
from threadstore._cli.runner import run_store, store_url
from threadstore._cli.transcript_text import render_thread
from threadstore._contract.base import ThreadStore
from threadstore._contract.types import ReadThreadParams, StoredThread
from threadstore._view import transcript

__all__ = ["page", "pager_command", "show_cmd"]


def pager_command(environ: dict[str, str] | None = None) -> str | None:
    """The pager to use, or None for none (see the module documentation)."""
    env = os.environ if environ is None else environ
    for name in ("THREADSTORE_PAGER", "PAGER"):
        if name in env:
            value = env[name].strip()
            return None if value in ("", "cat") else value
    return "less"


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def page(render: Callable[[Console], None], *, use_pager: bool) -> None:
    """Run ``render`` on a console for stdout, through the pager when ``use_pager`` and one is
    configured. A pager that cannot be started is skipped."""
    command = pager_command() if use_pager else None
    console = out_console()
    if command is None:
        render(console)
        return
    buffer = io.StringIO()
    render(Console(file=buffer, width=console.width, force_terminal=True, no_color=console.no_color))
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    try:
        subprocess.run(command, shell=True, input=buffer.getvalue(), text=True, env=env, check=False)
    except OSError:
        sys.stdout.write(buffer.getvalue())
    except KeyboardInterrupt:
        pass


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    thread_id: Annotated[str, typer.Argument(help="Thread id, or its first 8 or more characters.")],
    history: Annotated[bool, typer.Option("--history", help="With --json: include the items.")] = False,
    show_all: Annotated[
        bool, typer.Option("--all", "-a", help="Also show system and developer prompts, and tool input and output.")
    ] = False,
    no_pager: Annotated[bool, typer.Option("--no-pager", help="Do not page the output on a terminal.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the thread as JSON.")] = False,
) -> None:
    """Show one thread (archived ones too) as a transcript: user and agent turns, tool calls folded."""
    where = store_url(ctx)

    async def work(store: ThreadStore) -> StoredThread:
        resolved = await resolve_thread_id(store, thread_id, where)
        with_items = history or not as_json
        return await store.read_thread(ReadThreadParams(resolved, include_archived=True, include_history=with_items))

    thread = run_store(ctx, work)
    if as_json:
        print_json(thread_to_json(thread))
        return
    entries = transcript(thread.history.items if thread.history else [], include_hidden=show_all)
    page(
        lambda console: render_thread(console, thread, entries, show_all=show_all),
        use_pager=not no_pager and stdout_is_terminal(),
    )
