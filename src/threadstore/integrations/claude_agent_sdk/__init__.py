"""The Claude Agent SDK keeps its sessions in a thread store.

:class:`ThreadSessionStore` implements the SDK's ``SessionStore`` protocol (``append``, ``load``,
``list_sessions``, ``list_session_summaries``, ``delete``, ``list_subkeys``) on any
:class:`~threadstore.ThreadStore`, so that ``ClaudeAgentOptions(session_store=...)`` mirrors every
Claude Code transcript into memory, a local home, PostgreSQL or a ``threadstore serve`` server,
and ``resume`` works from there on any machine::

    from claude_agent_sdk import ClaudeAgentOptions, query
    from threadstore.integrations.claude_agent_sdk import ThreadSessionStore

    options = ClaudeAgentOptions(session_store=ThreadSessionStore("local:~/.threadstore"))

Each transcript is an ordinary thread (``threadstore list``, ``search``, ``show``, ``export`` and
the web page show it). Needs the SDK: ``pip install 'threadstore[claude]'``.
"""

from __future__ import annotations

try:
    import claude_agent_sdk  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ImportError(
        "threadstore.integrations.claude_agent_sdk needs the Claude Agent SDK: pip install 'threadstore[claude]'"
    ) from exc

from threadstore.integrations.claude_agent_sdk._store import ThreadSessionStore

__all__ = ["ThreadSessionStore"]
