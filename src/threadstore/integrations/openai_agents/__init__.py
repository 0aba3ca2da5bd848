"""OpenAI Agents SDK sessions kept in a thread store (``pip install 'threadstore[agents]'``).

:class:`ThreadSession` implements the SDK's ``Session`` protocol (``agents.memory``) on any
thread store, so that every session is an ordinary thread: listed (its preview is its first user
message), searched, shown as a transcript, exported in Codex's rollout format, copied between
stores::

    from agents import Agent, Runner
    from threadstore.integrations.openai_agents import ThreadSession

    session = ThreadSession("user-42", "local:~/.threadstore")
    result = await Runner.run(agent, "Hello", session=session)

How items are stored, and the history-edit markers ``pop_item`` and ``clear_session`` append:
:mod:`threadstore._rollout.edits` and :mod:`._lines`; how concurrent sessions of one id share the
thread's single writer, and how long a dead process can block it: :mod:`._writer`.
"""

from __future__ import annotations

try:
    import agents.memory  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the SDK installed
    raise ImportError(
        "threadstore.integrations.openai_agents needs the OpenAI Agents SDK: "
        "pip install 'threadstore[agents]'"
    ) from exc

from threadstore.integrations.openai_agents._session import (
    DEFAULT_SOURCE,
    SESSION_ID_LABEL,
    THREAD_ID_NAMESPACE,
    ThreadSession,
    session_thread_id,
)

__all__ = ["DEFAULT_SOURCE", "SESSION_ID_LABEL", "THREAD_ID_NAMESPACE", "ThreadSession", "session_thread_id"]
