"""Every command of the ``threadstore`` application, registered by importing its module."""

from __future__ import annotations

from threadstore._cli import appserver as _appserver  # noqa: F401  (registers the app-server command)
from threadstore._cli import browse as _browse  # noqa: F401  (registers list and search)
from threadstore._cli import chat as _chat  # noqa: F401  (registers the chat command)
from threadstore._cli import checkout as _checkout  # noqa: F401  (registers the checkout command)
from threadstore._cli import configure as _configure  # noqa: F401  (registers the config command)
from threadstore._cli import copy as _copy  # noqa: F401  (registers the copy command)
from threadstore._cli import exchange as _exchange  # noqa: F401  (registers export and import)
from threadstore._cli import fork as _fork  # noqa: F401  (registers the fork command)
from threadstore._cli import manage as _manage  # noqa: F401  (registers rename, archive, unarchive, delete, reindex)
from threadstore._cli import mirror as _mirror  # noqa: F401  (registers the mirror command)
from threadstore._cli import serve as _serve  # noqa: F401  (registers the serve command)
from threadstore._cli import show as _show  # noqa: F401  (registers the show command)
from threadstore._cli import webui as _webui  # noqa: F401  (registers the ui command)
from threadstore._cli.app import app
from threadstore._cli.jsonout import page_to_json, search_page_to_json, thread_to_json

__all__ = ["app", "page_to_json", "search_page_to_json", "thread_to_json"]
