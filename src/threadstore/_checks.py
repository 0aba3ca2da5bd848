"""Checks of input values, shared by the parameter objects: each returns the value (normalized)
or raises :class:`~threadstore.errors.InvalidRequest` naming what was wrong, so that bad input is
refused where it enters, before any store sees it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from threadstore import _json
from threadstore._time import utc
from threadstore.errors import InvalidRequest

__all__ = [
    "MAX_IDEMPOTENCY_KEY_CHARS",
    "MAX_LABELS",
    "check_idempotency_key",
    "check_instant",
    "check_json",
    "check_labels",
    "check_search_term",
    "check_text",
    "shown",
]

_SHOWN = 80

#: The longest idempotency key an append takes.
MAX_IDEMPOTENCY_KEY_CHARS = 200


def shown(value: object) -> str:
    """``value`` as an error message shows it: its repr, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} characters)"


def check_text(value: object, what: str) -> str:
    """A string that is valid Unicode text (no lone surrogates, which no encoding can store)."""
    if not isinstance(value, str):
        raise InvalidRequest(f"{what} must be a string, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(f"{what} is not valid Unicode text: {shown(value)}") from None
    return value


def check_search_term(value: object, what: str = "search_term") -> str:
    """Text to search for: valid Unicode (NUL characters included: texts may hold them too)."""
    return check_text(value, what)


def check_json(value: Any, what: str) -> Any:
    """A value JSON can carry (objects, arrays, strings, finite numbers, booleans, null)."""
    try:
        _json.dumps(value)
    except ValueError as exc:
        raise InvalidRequest(f"{what} is not valid JSON: {str(exc)[:_SHOWN]}") from None
    return value


def check_instant(value: object, what: str) -> datetime:
    """A timezone-aware datetime that UTC can hold, returned in UTC."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidRequest(f"{what} must be a timezone-aware datetime")
    converted = utc(value)
    if converted is None:
        raise InvalidRequest(f"{what} is out of range: {shown(value)}")
    return converted


def check_idempotency_key(value: object) -> str:
    """An append's idempotency key: text of 1 to :data:`MAX_IDEMPOTENCY_KEY_CHARS` characters."""
    key = check_text(value, "idempotency_key")
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidRequest(f"idempotency_key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters, got {len(key)}")
    return key


#: The most labels a thread carries (and a filter names).
MAX_LABELS = 64
_LABEL_KEY = re.compile(r"[A-Za-z0-9._/:-]{1,100}")
_MAX_LABEL_VALUE = 1000


def check_labels(value: object, what: str = "labels", *, removals: bool = False) -> dict[str, Any]:
    """Labels: an object of at most :data:`MAX_LABELS` keys (1 to 100 letters, digits and
    ``._-/:``), each with a text value of at most 1,000 characters without NUL. With
    ``removals`` (a patch), a value may also be None (remove the key). Returns a plain dict."""
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"{what} must be an object of key: value texts, got {type(value).__name__}")
    if len(value) > MAX_LABELS:
        raise InvalidRequest(f"{what}: at most {MAX_LABELS} labels, got {len(value)}")
    checked: dict[str, Any] = {}
    for key, text in value.items():
        if not isinstance(key, str) or not _LABEL_KEY.fullmatch(key):
            raise InvalidRequest(
                f"{what}: a label key is 1 to 100 letters, digits and ._-/: characters, got {shown(key)}"
            )
        if text is None and removals:
            checked[key] = None
            continue
        check_text(text, f"label {key}")
        if len(text) > _MAX_LABEL_VALUE or "\x00" in text:
            raise InvalidRequest(f"label {key}: a value is at most {_MAX_LABEL_VALUE} characters, without NUL")
        checked[key] = text
    return checked
