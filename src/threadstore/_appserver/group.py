"""The base of the method groups: what every handler may use, and the shared steps."""

from __future__ import annotations

import os
from typing import Any

from threadstore._appserver.hub import Hub, Member
from threadstore._appserver.listener import ThreadListener
from threadstore._appserver.params import Params
from threadstore._appserver.state import LoadedThread
from threadstore._appserver.views import ThreadViews
from threadstore._runtime.config import ThreadConfig
from threadstore._runtime.manager import ThreadManager
from threadstore._runtime.thread import Thread

__all__ = ["MethodGroup"]


class MethodGroup:
    """Handlers sharing one :class:`Hub` (every connection's threads and subscriptions)."""

    def __init__(self, hub: Hub, views: ThreadViews, listener: ThreadListener) -> None:
        self.hub = hub
        self.views = views
        self.listener = listener

    @property
    def manager(self) -> ThreadManager:
        return self.hub.manager

    def load(self, thread: Thread, member: Member) -> LoadedThread:
        """Register a thread the manager loaded (once) and subscribe ``member`` to it."""
        loaded = self.hub.attach(thread, self.listener)
        self.hub.subscribe(member, thread.thread_id)
        return loaded

    @staticmethod
    def thread_config(params: Params) -> ThreadConfig:
        return ThreadConfig(
            cwd=params.opt_str("cwd") or os.getcwd(),
            model=params.opt_str("model"),
            model_provider=params.opt_str("modelProvider"),
            base_instructions=params.opt_str("baseInstructions"),
            ephemeral=params.flag("ephemeral"),
        )

    @staticmethod
    def session_result(thread: Thread, shown: dict[str, Any]) -> dict[str, Any]:
        """The result of ``thread/start``, ``thread/resume`` and ``thread/fork``."""
        snapshot = thread.config_snapshot()
        return {
            "thread": shown,
            "model": snapshot.model,
            "modelProvider": snapshot.model_provider_id,
            "cwd": snapshot.cwd,
            "approvalPolicy": snapshot.approval_policy,
            "reasoningEffort": snapshot.reasoning_effort,
        }
