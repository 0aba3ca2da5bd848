"""The Claude Agent SDK's session-store workload of ``python -m bench`` (see :mod:`bench.workloads`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .workloads import Context

__all__ = ["claude_store"]


def claude_store(ctx: Context) -> None:
    """The Claude Agent SDK's ``SessionStore``: ours (``ThreadSessionStore`` over the local and
    the in-memory store) against the SDK's ``InMemorySessionStore``, on the batches Claude Code
    mirrors (one append of 10 entries a turn) and a load of the whole session."""
    turns = max(20, ctx.sizes.long // 50)
    params = {"work": ctx.path("claude-store"), "turns": turns}
    ours = ctx.ours("claude_store", params, memory="claude store")
    theirs = ctx.anchor("claude", "session_store", {"turns": turns}, memory="claude store")
    ctx.add("claude.append", "Claude SessionStore: append one turn (10 entries), local", "ms", ours["append_ms"],
            claude=theirs.get("append_ms"))
    ctx.add("claude.append.memory", "  the same on the in-memory store", "ms", ours["memory_append_ms"],
            claude=theirs.get("append_ms"))
    ctx.add(f"claude.load.{turns}", f"Claude SessionStore: load a {turns}-turn session, local", "ms", ours["load_ms"],
            claude=theirs.get("load_ms"))
    ctx.add(f"claude.load.{turns}.memory", "  the same on the in-memory store", "ms", ours["memory_load_ms"],
            claude=theirs.get("load_ms"))
