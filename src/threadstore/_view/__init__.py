"""What people see of threads, whatever shows it (the command line, the web page): transcripts,
facts and short labels. Pure functions over store values; no terminal or web code here."""

from __future__ import annotations

from threadstore._view.facts import Fact, labels_text, shown_labels, thread_facts
from threadstore._view.labels import match_spans, relative_time, short_path, thread_title
from threadstore._view.markdown import markdown
from threadstore._view.transcript import Entry, EntryKind, transcript, user_turns

__all__ = [
    "Entry",
    "Fact",
    "labels_text",
    "shown_labels",
    "EntryKind",
    "markdown",
    "match_spans",
    "relative_time",
    "short_path",
    "thread_facts",
    "thread_title",
    "transcript",
    "user_turns",
]
