"""The first line of a thread: the ``session_meta`` a store writes from the create parameters,
unless the first item appended is the thread's own (a copy or an import keeps its original)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from threadstore._contract.types import CreateThreadParams
from threadstore._rollout.items import Item, session_meta
from threadstore._time import format_rfc3339

__all__ = ["adopt_first_line", "initial_session_meta", "opens_paginated"]


def initial_session_meta(params: CreateThreadParams, timestamp: str) -> Item:
    """The first ``session_meta`` line a store writes for a new thread, in the Codex shape.

    ``timestamp`` is the creation time unless the parameters carry their own ``created_at``."""
    if params.created_at is not None:
        timestamp = format_rfc3339(params.created_at)
    fields: dict[str, Any] = {}
    if params.forked_from_id:
        fields["forked_from_id"] = params.forked_from_id
    fields.update(
        originator=params.originator,
        cli_version=params.cli_version,
        source=params.source,
        model_provider=params.model_provider,
    )
    if params.parent_thread_id:
        fields["parent_thread_id"] = params.parent_thread_id
    if params.base_instructions is not None:
        fields["base_instructions"] = {"text": params.base_instructions}
    if params.dynamic_tools:
        fields["dynamic_tools"] = [dict(t) for t in params.dynamic_tools]
    if params.memory_mode == "disabled":
        fields["memory_mode"] = "disabled"
    if params.git_info is not None:
        fields["git"] = params.git_info.to_json()
    if params.labels:
        fields["labels"] = dict(params.labels)
    return session_meta(params.thread_id, timestamp=timestamp, cwd=params.cwd, **fields)


def opens_paginated(item: Item, thread_id: str) -> bool:
    """Whether ``item`` is a thread's own ``session_meta`` that says its history is paginated."""
    payload = item.get("payload")
    return (
        item.get("type") == "session_meta"
        and isinstance(payload, Mapping)
        and payload.get("id") == thread_id
        and payload.get("history_mode") == "paginated"
    )


def adopt_first_line(owed: Item, items: list[Item], thread_id: str) -> tuple[Item, list[Item]]:
    """The first line of a new thread and the items that follow it.

    A thread's first line is the ``session_meta`` its store builds from the create parameters
    (``owed``), unless the first item appended to it is the thread's own ``session_meta``: that
    one is kept as it is, so a copied or imported thread keeps its original first line."""
    if items and items[0].get("type") == "session_meta":
        payload = items[0].get("payload")
        if isinstance(payload, Mapping) and payload.get("id") == thread_id:
            return items[0], items[1:]
    return owed, items
