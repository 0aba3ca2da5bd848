"""``threadstore checkout ID --to-home PATH``: put a thread of the store into a Codex home, so
that ``codex resume ID`` continues it there.

The rules (where the rollout goes, its fork parents, a rollout already in the home) are those of
:mod:`threadstore._transfer.checkout`. The home defaults to ``$CODEX_HOME``, else ``~/.codex``.
A mirror of that home (``threadstore mirror``) then carries the new turns back to the store as
appends to the same thread.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from threadstore._cli.app import app
from threadstore._cli.output import out_console, print_json
from threadstore._cli.resolve import resolve_thread_id
from threadstore._cli.runner import run_store, store_url
from threadstore._contract.base import ThreadStore
from threadstore._transfer.checkout import CheckoutOutcome, checkout_thread

__all__ = ["checkout_cmd"]

_SAID = {
    "written": "written",
    "extended": "extended with the store's newer lines",
    "present": "already there, the same",
    "ahead": "already there with more lines than the store (a mirror of this home will carry them)",
    "replaced": "replaced (--force)",
}


def _default_home() -> Path:
    return Path(os.environ.get("CODEX_HOME") or "~/.codex").expanduser()


@app.command("checkout")
def checkout_cmd(
    ctx: typer.Context,
    thread: Annotated[str, typer.Argument(metavar="ID", help="Thread id (or a unique prefix of 8+ characters).")],
    to_home: Annotated[
        Path | None,
        typer.Option(
            "--to-home",
            metavar="PATH",
            help="The Codex home [default: $CODEX_HOME, else ~/.codex].",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a rollout of the thread in the home that differs from the store's.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was placed where as JSON.")] = False,
) -> None:
    """Place a thread (and the fork parents it stands on) into a Codex home, exactly as stored,
    so that `codex resume ID` continues it there."""
    home = (to_home or _default_home()).expanduser().resolve()
    where = store_url(ctx)

    async def work(store: ThreadStore) -> list[CheckoutOutcome]:
        thread_id = await resolve_thread_id(store, thread, where)
        return await checkout_thread(store, thread_id, home, force=force)

    outcomes = run_store(ctx, work)
    if as_json:
        print_json({"home": str(home), "threads": [o.to_json() for o in outcomes]})
        return
    out = out_console()
    for outcome in outcomes:
        out.print(Text(f"{outcome.thread_id}: {_SAID[outcome.status]} ({outcome.lines} lines) {outcome.path}"))
    out.print(Text(f"resume it with: CODEX_HOME={home} codex resume {outcomes[-1].thread_id}"))
