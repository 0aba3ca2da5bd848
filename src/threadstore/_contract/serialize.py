"""A thread's metadata as JSON and as the summary fold derives it, both driven by the field
table (:data:`~threadstore._contract.thread.THREAD_FIELDS`).

The JSON form (the command line's ``--json``, the app server, the local index, thread files):
the field names of :class:`StoredThread`, timestamps as RFC 3339 strings, ``git_info`` and
``token_usage`` as objects, ``history`` as the list of items. It round-trips.

:func:`thread_from_fold` is the thread a :class:`~threadstore._rollout.summary.ThreadSummary`
describes: every field with a ``fold`` attribute is read from the fold.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from threadstore._contract.fields import FieldSpec, Kind
from threadstore._contract.thread import THREAD_FIELDS, GitInfo, StoredThread, StoredThreadHistory, TokenUsage
from threadstore._rollout.summary import ThreadSummary
from threadstore._time import format_rfc3339, parse_timestamp
from threadstore.errors import InvalidRequest

__all__ = ["labels_of", "thread_from_fold", "thread_from_json", "thread_to_json", "value_from_json", "value_to_json"]


def value_to_json(kind: Kind, value: Any) -> Any:
    """The JSON form of one field's value."""
    if value is None:
        return None
    if kind in (Kind.TIME, Kind.OPT_TIME):
        return format_rfc3339(value)
    if kind in (Kind.GIT, Kind.USAGE):
        return value.to_json()
    if kind is Kind.HISTORY:
        return value.items
    if kind is Kind.LABELS:
        return dict(value)
    return value


def value_from_json(spec: FieldSpec, raw: Any, thread_id: str = "") -> Any:
    """One field's value from its JSON form (lenient: an unusable value reads as the field's
    empty value; only a required time that is not one raises :class:`InvalidRequest`)."""
    kind = spec.kind
    if kind is Kind.TIME:
        parsed = parse_timestamp(raw)
        if parsed is None:
            raise InvalidRequest(f"thread JSON has an invalid {spec.name}: {raw!r}")
        return parsed
    if kind is Kind.OPT_TIME:
        if not raw:
            return None
        parsed = parse_timestamp(raw)
        if parsed is None:
            raise InvalidRequest(f"thread JSON has an invalid {spec.name}: {raw!r}")
        return parsed
    if kind is Kind.TEXT:
        return raw or ""
    if kind is Kind.SOURCE:
        return raw or "unknown"
    if kind is Kind.GIT:
        return GitInfo.from_json(raw)
    if kind is Kind.USAGE:
        return TokenUsage.from_json(raw)
    if kind is Kind.MEMORY:
        return "disabled" if raw == "disabled" else "enabled"
    if kind is Kind.HISTORY_MODE:
        return "paginated" if raw == "paginated" else "legacy"
    if kind is Kind.HISTORY:
        return StoredThreadHistory(thread_id, list(raw)) if isinstance(raw, list) else None
    if kind is Kind.LABELS:
        return labels_of(raw)
    return raw


def labels_of(raw: object) -> dict[str, str]:
    """The usable labels of a JSON value: its text-valued keys (anything else is ignored)."""
    if not isinstance(raw, Mapping):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}


def thread_to_json(thread: StoredThread) -> dict[str, Any]:
    """The JSON object of a thread (history included when the thread carries it)."""
    return {spec.name: value_to_json(spec.kind, getattr(thread, spec.name)) for spec in THREAD_FIELDS}


def thread_from_json(data: Mapping[str, Any]) -> StoredThread:
    """Rebuild a thread from :func:`thread_to_json` output."""
    thread_id = data["thread_id"]
    return StoredThread(**{spec.name: value_from_json(spec, data.get(spec.name), thread_id) for spec in THREAD_FIELDS})


_FOLDED = tuple(spec for spec in THREAD_FIELDS if isinstance(spec.fold, str))


def thread_from_fold(
    summary: ThreadSummary,
    *,
    thread_id: str,
    fallback_time: datetime,
    rollout_path: str | None = None,
    archived_at: datetime | None = None,
    name: str | None = None,
    default_provider: str = "",
) -> StoredThread:
    """The thread ``summary`` describes (without history). A time the lines do not give is
    ``fallback_time``; ``updated_at`` is never before ``created_at``; ``name`` (when given)
    wins over a name the lines set; an empty provider is ``default_provider``."""
    fields: dict[str, Any] = {"thread_id": thread_id, "rollout_path": rollout_path, "archived_at": archived_at}
    for spec in _FOLDED:
        raw = getattr(summary, spec.fold)  # type: ignore[arg-type]
        if spec.kind is Kind.TIME:
            fields[spec.name] = parse_timestamp(raw) or fallback_time
        else:
            fields[spec.name] = value_from_json(spec, raw, thread_id)
    fields["updated_at"] = max(fields["updated_at"], fields["created_at"])
    if name is not None:
        fields["name"] = name
    if not fields["model_provider"]:
        fields["model_provider"] = default_provider
    return StoredThread(**fields)
