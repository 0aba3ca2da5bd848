"""Labels people read: titles, relative times, short directories, match spans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from threadstore import StoredThread
from threadstore._view import match_spans, relative_time, short_path, thread_title

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(seconds=-20), "just now"),
        (timedelta(minutes=12, seconds=40), "12 min ago"),
        (timedelta(hours=3, minutes=59), "3 h ago"),
        (timedelta(days=5, hours=23), "5 d ago"),
        (timedelta(days=45), "2026-10-16"),
        (timedelta(hours=-2), "2026-11-30"),
    ],
)
def test_relative_time(delta: timedelta, text: str) -> None:
    assert relative_time(NOW - delta, NOW) == text


def test_relative_time_of_nothing() -> None:
    assert relative_time(None, NOW) == ""


def test_short_path() -> None:
    assert short_path("/home/ann/src/app", home="/home/ann") == "~/src/app"
    assert short_path("/home/ann", home="/home/ann") == "~"
    assert short_path("/home/annex/src", home="/home/ann") == "/home/annex/src"
    assert short_path("/srv/a/very/long/path/to/project", 16, home="/x") == "…/to/project"
    assert len(short_path("/srv/abcdefghijklmnopqrstuvwxyz", 10, home="/x")) == 10
    assert short_path("/srv/x", 40, home="/") == "/srv/x"


def test_thread_title() -> None:
    def thread(preview: str, name: str | None = None) -> StoredThread:
        return StoredThread(
            thread_id="01a211bf-81da-7c93-9c38-b2117fbac6d3", created_at=NOW, updated_at=NOW, preview=preview, name=name
        )

    assert thread_title(thread(name="Named", preview="p")) == "Named"
    assert thread_title(thread(preview="line one\n  line two")) == "line one line two"
    assert thread_title(thread(preview="  ")) == "(untitled)"


def test_match_spans() -> None:
    text = "Plan the STORAGE layer; storage\tlayer again"
    assert match_spans(text, "storage layer") == [(9, 22), (24, 37)]
    assert match_spans(text, "  ") == []
    assert match_spans("a.b", ".") == [(1, 2)]  # the term is text, not a pattern


def test_bookkeeping_labels_are_left_out_of_what_people_see() -> None:
    from threadstore._view import labels_text, shown_labels

    labels = {"host": "alpha", "mirror.alpha.1a2b": "lines=3 bytes=120", "claude.summary": "{}", "claude.project": "p"}
    assert shown_labels(labels) == {"claude.project": "p", "host": "alpha"}
    assert labels_text(labels) == "claude.project=p, host=alpha"
