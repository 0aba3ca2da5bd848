"""``threadstore mirror SOURCE... --to URL``: keep a store an exact copy of Codex homes.

The mirror (:mod:`threadstore._mirror`) follows the homes and carries every new line into the
target, and names, archiving, memory mode and git facts with them; ``--once`` brings the target
up to date and exits (for cron). It runs until SIGTERM or SIGINT, then closes its writers
cleanly (their checkpoints written) and exits 0. What it prints: :mod:`.mirror_output`; a
one-off run ends with a summary (``--json``: one object with the counts and every event), and
its exit status is 1 when a thread could not be mirrored or the target stayed down.

Only one mirror of the same homes, host label and target runs on a machine at a time (a lock
file in the user's runtime directory); it presents itself to the target under a writer id
derived from them, so that a mirror restarted after a crash (even ``kill -9``) takes over the
writers its predecessor left at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import signal
import socket
import tempfile
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from threadstore._backends.registry import open_store, url_forms
from threadstore._cli.app import app, globals_of
from threadstore._cli.errors import CliFailure, from_exception
from threadstore._cli.mirror_output import MirrorOutput
from threadstore._cli.output import out_console, print_json, report_failure
from threadstore._cli.progress import progress_wanted
from threadstore._cli.runner import check_home
from threadstore._mirror.engine import Mirror
from threadstore._mirror.options import MirrorOptions, MirrorReport
from threadstore.errors import ThreadStoreError

__all__ = ["mirror_cmd"]


class DeletePolicy(StrEnum):
    keep = "keep"
    follow = "follow"


def _homes(sources: list[Path], target: str) -> list[Path]:
    homes = []
    for source in sources:
        home = source.expanduser().resolve()
        if not home.is_dir():
            raise CliFailure(f"{source} is not a directory (give a Codex home, such as ~/.codex)", "not_found")
        if (
            not (home / "sessions").is_dir()
            and not (home / "archived_sessions").is_dir()
            and not (home / "config.toml").exists()
        ):
            raise CliFailure(
                f"{source} does not look like a Codex home (no sessions/, archived_sessions/ or config.toml)"
            )
        scheme, _, rest = target.partition(":")
        if scheme == "local" and rest and Path(rest).expanduser().resolve() == home:
            raise CliFailure(f"the target is the source home {home} itself")
        homes.append(home)
    return homes


def writer_id(host: str, homes: list[Path], target: str) -> str:
    """The identity this mirror presents to the target (stable across restarts)."""
    text = "\0".join([host, target, *sorted(str(h) for h in homes)])
    return "mirror-" + hashlib.sha256(text.encode()).hexdigest()[:32]


@contextlib.contextmanager
def _single(identity: str) -> Iterator[None]:
    """Hold the lock that keeps a second identical mirror from running on this machine."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    path = base / f"threadstore-{identity}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CliFailure(
                "another mirror of these homes into this target is already running on this machine", "conflict"
            ) from None
        yield
    finally:
        os.close(fd)


def _summary(report: MirrorReport) -> None:
    out = out_console()
    counts = report.counts
    out.print(
        f"mirrored: {counts['created']} created, {report.lines} lines, {counts['metadata']} metadata updates, "
        f"{counts['archived']} archived, {counts['unarchived']} unarchived, {counts['deleted']} deleted, "
        f"{counts['rewritten']} copied again (rewritten), {counts['stopped']} stopped"
    )
    for event in report.events:
        if event.kind in ("rewritten", "stopped"):
            out.print(f"{event.kind} {event.thread_id}: {event.detail}")


@app.command("mirror")
def mirror_cmd(
    ctx: typer.Context,
    sources: Annotated[list[Path], typer.Argument(metavar="SOURCE", help="Codex homes to mirror (e.g. ~/.codex).")],
    to: Annotated[str, typer.Option("--to", help=f"Target store URL: {url_forms()}")],
    once: Annotated[bool, typer.Option("--once", help="Bring the target up to date, then exit (for cron).")] = False,
    delete_policy: Annotated[
        DeletePolicy,
        typer.Option(
            "--delete-policy",
            help="What a rollout deleted from a home does to its thread in the target: keep it, or follow (delete).",
        ),
    ] = DeletePolicy.keep,
    host_label: Annotated[
        str | None,
        typer.Option(
            "--host-label",
            metavar="LABEL",
            help="The 'host' label of the threads this mirror creates, unique per machine [default: the host name].",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, max=64, help="Threads synced at once.")] = 4,
    as_json: Annotated[
        bool, typer.Option("--json", help="Events as JSON lines on stdout (--once: one summary).")
    ] = False,
) -> None:
    """Keep a store an exact, live copy of Codex homes: every thread, line for line, while Codex
    writes; renames, archiving, memory mode and git facts follow (deletions with
    --delete-policy follow). Runs until SIGTERM or Ctrl-C, or with --once until the target is up
    to date."""
    options = globals_of(ctx)
    settings = options.settings()
    homes = _homes(sources, to)
    host = (host_label or socket.gethostname()).strip()
    if not host:
        raise CliFailure("--host-label must not be empty", "usage")
    identity = writer_id(host, homes, to.strip())
    output = MirrorOutput(
        progress=progress_wanted(options.quiet) and not as_json and not once,
        events_to_stdout=as_json and not once,
        logs=not (once and as_json),
        target=to,
    )
    mirror_options = MirrorOptions(host_label=host, delete_policy=delete_policy.value, once=once, jobs=jobs)

    async def main() -> MirrorReport:
        check_home(to, to, create=True)
        # (offload: a local target's disk waits never hold up the loop that follows the homes)
        target = open_store(to, environ=settings.environ(), writer_id=identity, offload=True)
        mirror = Mirror(target, homes, mirror_options, on_event=output.event)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, mirror.stop)
        output.attach(mirror)
        ticker = loop.create_task(_tick(output))
        try:
            return await mirror.run()
        finally:
            ticker.cancel()
            output.close()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            with contextlib.suppress(ThreadStoreError):
                await target.close()

    with _single(identity):
        try:
            report = asyncio.run(main())
        except (ThreadStoreError, OSError) as exc:
            raise from_exception(exc, to) from None
    failure: CliFailure | None = None
    if report.error is not None:
        failure = CliFailure(report.error, "unavailable")
    elif once and not report.ok:
        failure = CliFailure(f"{report.counts['stopped']} thread(s) could not be mirrored", "mirror_incomplete")
    if once and as_json:
        print_json(report.to_json())  # the result: it says which threads could not be mirrored
        if failure is not None:
            report_failure(failure, as_json=False)
            raise typer.Exit(1)
    elif once:
        _summary(report)
    if failure is not None:
        raise failure


async def _tick(output: MirrorOutput) -> None:
    while True:
        await asyncio.sleep(0.5)
        output.refresh()
