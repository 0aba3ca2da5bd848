"""The ``threadstore`` command line (console script entry point: :func:`main`).

One module per job: :mod:`.app` (the application and its global options), :mod:`.config`
(flags, environment, config file), :mod:`.runner` (opening the store), :mod:`.errors` (exit codes
and messages), :mod:`.output` and :mod:`.jsonout` (JSON), :mod:`.resolve` (id prefixes),
:mod:`.tables` and :mod:`.transcript_text` (what people see); the commands register themselves
on the application when their modules are imported below.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import appserver as _appserver  # noqa: F401  (registers the app-server command)
from . import browse as _browse  # noqa: F401  (registers list and search)
from . import chat as _chat  # noqa: F401  (registers the chat command)
from . import configure as _configure  # noqa: F401  (registers the config command)
from . import copy as _copy  # noqa: F401  (registers the copy command)
from . import fork as _fork  # noqa: F401  (registers the fork command)
from . import manage as _manage  # noqa: F401  (registers rename, archive, unarchive, delete, export, reindex)
from . import serve as _serve  # noqa: F401  (registers the serve command)
from . import show as _show  # noqa: F401  (registers the show command)
from . import webui as _webui  # noqa: F401  (registers the ui command)
from .app import app
from .jsonout import page_to_json, search_page_to_json, thread_to_json

__all__ = ["app", "main", "page_to_json", "search_page_to_json", "thread_to_json"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="threadstore")
    except SystemExit as exc:
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else 1
    return 0
