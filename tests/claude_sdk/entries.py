"""Transcript entries as the Claude Agent SDK types them.

``SessionStoreEntry`` declares only ``type``, ``uuid`` and ``timestamp``; every other key of an
entry is JSON the store passes through, which a TypedDict literal cannot spell. The tests write
entries as the plain JSON objects they are and give them the SDK's type here, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from claude_agent_sdk import SessionStoreEntry

__all__ = ["entries", "entry"]


def entry(raw: Mapping[str, Any]) -> SessionStoreEntry:
    """One transcript line (an object with a string ``type``) as the SDK's entry."""
    assert isinstance(raw.get("type"), str), raw
    return cast(SessionStoreEntry, dict(raw))


def entries(raw: Iterable[Mapping[str, Any]]) -> list[SessionStoreEntry]:
    """Transcript lines as the SDK's entries."""
    return [entry(e) for e in raw]
