"""``threadstore ui``: a small local web page to list, filter, search and read threads, and to
rename, archive and delete them, over any store. Server-rendered (Starlette, Jinja templates,
uvicorn), no build step; install with ``pip install 'threadstore[ui]'``."""

from __future__ import annotations

from threadstore._ui.app import create_app
from threadstore._ui.security import is_loopback
from threadstore._ui.server import parse_listen, serve_ui

__all__ = ["create_app", "is_loopback", "parse_listen", "serve_ui"]
