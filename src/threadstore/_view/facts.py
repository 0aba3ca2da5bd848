"""A thread's facts as people read them: the fields the table gives a label (``shown``), each as
a short text, in the table's order. The command line, the Markdown export and the web page all
list these, so a field the table labels shows up in each of them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from threadstore._contract.fields import FieldSpec, Kind
from threadstore._contract.thread import THREAD_FIELDS
from threadstore._contract.types import StoredThread, source_kind

__all__ = ["BOOKKEEPING_LABELS", "Fact", "labels_text", "shown_labels", "thread_facts"]

_SHOWN: Final = tuple(spec for spec in THREAD_FIELDS if spec.shown is not None)


@dataclass(frozen=True, slots=True)
class Fact:
    """One labelled fact; ``thread_link`` is set when the value is another thread's id."""

    label: str
    text: str
    thread_link: str | None = None
    #: Whether the text is a literal (an id, a path, a name) rather than prose.
    literal: bool = False


#: Labels that hold a program's bookkeeping rather than facts people read: the mirror's
#: checkpoints and the Claude adapter's session summary. Views leave them out; JSON has them all.
BOOKKEEPING_LABELS: Final = ("mirror.", "claude.summary")


def shown_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels people see, by key (without :data:`BOOKKEEPING_LABELS`)."""
    return {k: v for k, v in sorted(labels.items()) if not k.startswith(BOOKKEEPING_LABELS)}


def labels_text(labels: Mapping[str, str]) -> str:
    """Labels as people read them: ``key=value`` pairs by key, comma-separated."""
    return ", ".join(f"{key}={value}" for key, value in shown_labels(labels).items())


def _text(spec: FieldSpec, value: Any, when: Callable[[datetime], str]) -> str:
    kind = spec.kind
    if value is None:
        return ""
    if kind in (Kind.TIME, Kind.OPT_TIME):
        return when(value)
    if kind is Kind.SOURCE:
        return source_kind(value)
    if kind is Kind.GIT:
        return " ".join(v for v in (value.branch, (value.commit_hash or "")[:12], value.repository_url) if v)
    if kind is Kind.USAGE:
        return f"{value.total_tokens:,}" if value.total_tokens else ""
    if kind is Kind.LABELS:
        return labels_text(value)
    return str(value)


def thread_facts(thread: StoredThread, when: Callable[[datetime], str]) -> list[Fact]:
    """The labelled facts of ``thread`` that have a value; times are written by ``when``."""
    facts = []
    for spec in _SHOWN:
        value = getattr(thread, spec.name)
        text = _text(spec, value, when)
        if text:
            link = value if spec.kind is Kind.OPT_ID else None
            literal = spec.kind in (Kind.ID, Kind.OPT_ID, Kind.TEXT, Kind.OPT_TEXT)
            facts.append(Fact(str(spec.shown), text, link, literal))
    return facts
