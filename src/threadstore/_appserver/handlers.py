"""The method table of an app server: ``initialize`` and the v2 thread and turn methods.

The methods live in groups sharing one :class:`~.hub.Hub`: :mod:`.thread_methods`
(lifecycle and metadata), :mod:`.read_methods` (reads, lists, search), :mod:`.history_methods`
(paginated history) and :mod:`.turn_methods` (turns, steering, rollback and revert). See
:mod:`.context` for what a handler receives and returns.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Mapping
from typing import Any

from threadstore._appserver.context import Handler
from threadstore._appserver.history_methods import HistoryMethods
from threadstore._appserver.hub import Hub
from threadstore._appserver.listener import ThreadListener
from threadstore._appserver.params import Params
from threadstore._appserver.read_methods import ReadMethods
from threadstore._appserver.state import Registry
from threadstore._appserver.thread_methods import ThreadMethods
from threadstore._appserver.turn_methods import TurnMethods
from threadstore._appserver.views import ThreadViews
from threadstore._runtime.config import RUNTIME_VERSION

__all__ = ["Handlers"]


def _platform() -> tuple[str, str]:
    if sys.platform.startswith("win"):
        return "windows", "windows"
    if sys.platform == "darwin":
        return "unix", "macos"
    return "unix", sys.platform.rstrip("0123456789") or "unknown"


class Handlers:
    """The methods every connection of one server answers (see :meth:`routes`)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.views = ThreadViews(hub.manager, hub.registry)
        self.listener = ThreadListener(hub, self.views)
        self.threads = ThreadMethods(hub, self.views, self.listener)
        self.reads = ReadMethods(hub, self.views, self.listener)
        self.turns = TurnMethods(hub, self.views, self.listener)
        self.history = HistoryMethods(hub, self.views, self.listener)

    @property
    def registry(self) -> Registry:
        return self.hub.registry

    def routes(self) -> dict[str, Handler]:
        threads, reads, turns, history = self.threads, self.reads, self.turns, self.history
        return {
            "thread/start": threads.thread_start,
            "thread/resume": threads.thread_resume,
            "thread/fork": threads.thread_fork,
            "thread/archive": threads.thread_archive,
            "thread/unarchive": threads.thread_unarchive,
            "thread/delete": threads.thread_delete,
            "thread/unsubscribe": threads.thread_unsubscribe,
            "thread/name/set": threads.thread_name_set,
            "thread/metadata/update": threads.thread_metadata_update,
            "thread/memoryMode/set": threads.thread_memory_mode_set,
            "thread/list": reads.thread_list,
            "thread/loaded/list": reads.thread_loaded_list,
            "thread/read": reads.thread_read,
            "thread/search": reads.thread_search,
            "thread/turns/list": history.thread_turns_list,
            "thread/items/list": history.thread_items_list,
            "thread/turns/items/list": history.thread_turns_items_list,
            "thread/rollback": turns.thread_rollback,
            "thread/revert": turns.thread_revert,
            "turn/start": turns.turn_start,
            "turn/steer": turns.turn_steer,
            "turn/interrupt": turns.turn_interrupt,
        }

    def initialize(self, params: Params) -> dict[str, Any]:
        client = params.raw.get("clientInfo")
        suffix = ""
        if isinstance(client, Mapping) and isinstance(client.get("name"), str):
            version = client.get("version")
            suffix = f" ({client['name']}; {version})" if isinstance(version, str) else f" ({client['name']})"
        family, os_name = _platform()
        user_agent = (
            f"threadstore/{RUNTIME_VERSION} ({platform.system()} {platform.release()}; {platform.machine()}){suffix}"
        )
        return {"userAgent": user_agent, "platformFamily": family, "platformOs": os_name}
