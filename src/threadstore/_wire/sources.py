"""``SessionSource`` between its Codex JSON form and the ``codex.thread_store.v1`` message.

The JSON forms are the strings ``"cli"``, ``"vscode"``, ``"exec"``, ``"mcp"`` (the wire's
``APP_SERVER``) and ``"unknown"``, and the objects ``{"custom": name}``,
``{"subagent": "review" | "compact" | "memory_consolidation"}``,
``{"subagent": {"thread_spawn": {...}}}`` and ``{"subagent": {"other": name}}``.

The seed protocol's kinds cannot express every source (a string Codex adds later, say), so the
message also carries the exact JSON in the ``source_json`` extension field; readers that know the
extension prefer it, and real Codex clients ignore it. Without it, an unknown shape reads back as
``"unknown"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from threadstore import _json
from threadstore._contract.types import SessionSource
from threadstore._wire._proto import thread_store_pb2 as pb

__all__ = ["source_from_proto", "source_to_proto"]

_K = pb.SessionSourceKind

_STRING_KINDS: Final[dict[str, pb.SessionSourceKind]] = {
    "unknown": _K.SESSION_SOURCE_KIND_UNKNOWN,
    "cli": _K.SESSION_SOURCE_KIND_CLI,
    "vscode": _K.SESSION_SOURCE_KIND_VSCODE,
    "exec": _K.SESSION_SOURCE_KIND_EXEC,
    "mcp": _K.SESSION_SOURCE_KIND_APP_SERVER,
}
_KIND_STRINGS: Final = {kind: name for name, kind in _STRING_KINDS.items()}

_SIMPLE_SUBAGENTS: Final[dict[str, pb.SessionSourceKind]] = {
    "review": _K.SESSION_SOURCE_KIND_SUB_AGENT_REVIEW,
    "compact": _K.SESSION_SOURCE_KIND_SUB_AGENT_COMPACT,
    "memory_consolidation": _K.SESSION_SOURCE_KIND_SUB_AGENT_MEMORY_CONSOLIDATION,
}
_SUBAGENT_NAMES: Final = {kind: name for name, kind in _SIMPLE_SUBAGENTS.items()}

_SPAWN_FIELDS: Final = (
    ("parent_thread_id", "sub_agent_parent_thread_id"),
    ("agent_path", "sub_agent_path"),
    ("agent_nickname", "sub_agent_nickname"),
    ("agent_role", "sub_agent_role"),
)


def source_to_proto(source: SessionSource, *, with_json: bool = True) -> pb.SessionSource:
    """The wire form of ``source``. Shapes the kinds cannot express become ``UNKNOWN`` (plus
    the exact JSON when ``with_json``)."""
    message = pb.SessionSource(kind=_K.SESSION_SOURCE_KIND_UNKNOWN)
    if with_json:
        message.source_json = _json.dumps_str(source)
    if isinstance(source, str):
        message.kind = _STRING_KINDS.get(source, _K.SESSION_SOURCE_KIND_UNKNOWN)
        return message
    if not isinstance(source, Mapping) or len(source) != 1:
        return message
    if "custom" in source and isinstance(source["custom"], str):
        message.kind = _K.SESSION_SOURCE_KIND_CUSTOM
        message.custom = source["custom"]
        return message
    sub = source.get("subagent")
    if isinstance(sub, str) and sub in _SIMPLE_SUBAGENTS:
        message.kind = _SIMPLE_SUBAGENTS[sub]
    elif isinstance(sub, Mapping) and isinstance(sub.get("other"), str):
        message.kind = _K.SESSION_SOURCE_KIND_SUB_AGENT_OTHER
        message.sub_agent_other = sub["other"]
    elif isinstance(sub, Mapping) and isinstance(sub.get("thread_spawn"), Mapping):
        spawn: Mapping[str, Any] = sub["thread_spawn"]
        message.kind = _K.SESSION_SOURCE_KIND_SUB_AGENT_THREAD_SPAWN
        for json_name, field in _SPAWN_FIELDS:
            value = spawn.get(json_name)
            if isinstance(value, str):
                setattr(message, field, value)
        depth = spawn.get("depth")
        if isinstance(depth, int) and not isinstance(depth, bool) and -(2**31) <= depth < 2**31:
            message.sub_agent_depth = depth
    return message


def source_from_proto(message: pb.SessionSource, *, for_filter: bool = False) -> SessionSource:
    """Our JSON form of a wire source.

    ``source_json`` wins when present and valid. With ``for_filter`` (a ``ListThreads``
    ``allowed_sources`` entry), a thread-spawn kind without details means "any sub-agent"
    (``"subagent"``) and a custom kind without a name means any custom source.
    """
    if message.HasField("source_json"):
        try:
            parsed = _json.loads(message.source_json)
        except ValueError:
            parsed = None
        if (isinstance(parsed, str) and parsed) or (isinstance(parsed, dict) and parsed):
            return parsed
    kind = message.kind
    if kind in _KIND_STRINGS:
        return _KIND_STRINGS[kind]
    if kind == _K.SESSION_SOURCE_KIND_CUSTOM:
        if for_filter and not message.HasField("custom"):
            return "custom"
        return {"custom": message.custom}
    if kind in _SUBAGENT_NAMES:
        return {"subagent": _SUBAGENT_NAMES[kind]}
    if kind == _K.SESSION_SOURCE_KIND_SUB_AGENT_OTHER:
        if for_filter and not message.HasField("sub_agent_other"):
            return "subagent"
        return {"subagent": {"other": message.sub_agent_other}}
    if kind == _K.SESSION_SOURCE_KIND_SUB_AGENT_THREAD_SPAWN:
        if for_filter and not message.HasField("sub_agent_parent_thread_id"):
            return "subagent"
        spawn: dict[str, Any] = {
            "parent_thread_id": message.sub_agent_parent_thread_id or None,
            "depth": message.sub_agent_depth,
        }
        for json_name, field in _SPAWN_FIELDS[1:]:
            if message.HasField(field):
                spawn[json_name] = getattr(message, field)
        return {"subagent": {"thread_spawn": spawn}}
    return "unknown"
