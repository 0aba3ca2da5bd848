"""Where a Claude Agent SDK session key lives in a thread store, and its summary sidecar.

A key (``project_key``, ``session_id``, optional ``subpath``) names one transcript: the main
transcript of a session, or one of its subagent transcripts. Each is a thread of its own, whose
id is a name-based UUID of the key (:func:`thread_id_of`: the same key gives the same thread on
every machine, and two projects' sessions of the same id stay apart). The thread's labels keep
the key visible and filterable:

``claude.project``   the project key
``claude.session``   the session id (a subagent transcript carries its session's)
``claude.kind``      ``session`` (main transcript) or ``subagent``
``claude.subpath``   the subpath of a subagent transcript
``claude.summary``   the SDK's summary sidecar of a main transcript (see below)

The sidecar is what ``fold_session_summary`` made of the entries, with the time of the thread's
last line it covers (``mtime``, epoch milliseconds), stored verbatim as compact JSON. A label
holds at most 1,000 characters, so a longer sidecar continues in ``claude.summary.1``,
``claude.summary.2``, ...; one too long for the labels a thread can carry is left out (the SDK
then reads the session itself).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from threadstore import _json
from threadstore.errors import InvalidRequest

__all__ = [
    "KIND",
    "PROJECT",
    "SESSION",
    "SUBPATH",
    "SUMMARY",
    "Sidecar",
    "TranscriptKey",
    "decode_sidecar",
    "sidecar_patch",
]

PROJECT: Final = "claude.project"
SESSION: Final = "claude.session"
KIND: Final = "claude.kind"
SUBPATH: Final = "claude.subpath"
SUMMARY: Final = "claude.summary"

MAIN: Final = "session"
SUBAGENT: Final = "subagent"

_NAMESPACE: Final = uuid.UUID("5b0c7c0e-3f5a-4d52-9a57-1c1a7dc0de21")
_CHUNK: Final = 1000
#: The most sidecar chunks a thread carries (the store allows 64 labels; four name the key).
_MAX_CHUNKS: Final = 48


@dataclass(frozen=True, slots=True)
class TranscriptKey:
    """A checked session key."""

    project_key: str
    session_id: str
    subpath: str | None = None

    @classmethod
    def of(cls, key: Mapping[str, Any]) -> TranscriptKey:
        """Check a ``SessionKey`` (``InvalidRequest`` when it is not one)."""
        if not isinstance(key, Mapping):
            raise InvalidRequest(f"a session key is an object, got {type(key).__name__}")
        project_key, session_id, subpath = key.get("project_key"), key.get("session_id"), key.get("subpath")
        for name, value in (("project_key", project_key), ("session_id", session_id)):
            if not isinstance(value, str) or not value:
                raise InvalidRequest(f"a session key needs a non-empty {name}")
        if subpath is not None and (not isinstance(subpath, str) or not subpath):
            raise InvalidRequest("a session key's subpath is a non-empty string (omit it for the main transcript)")
        return cls(str(project_key), str(session_id), subpath)

    @property
    def main(self) -> bool:
        return self.subpath is None

    @property
    def thread_id(self) -> str:
        """The thread that keeps this transcript."""
        return str(uuid.uuid5(_NAMESPACE, _json.dumps_str([self.project_key, self.session_id, self.subpath])))

    @property
    def session_thread_id(self) -> str:
        """The thread of this key's main transcript."""
        return TranscriptKey(self.project_key, self.session_id).thread_id

    def labels(self) -> dict[str, str]:
        labels = {PROJECT: self.project_key, SESSION: self.session_id, KIND: MAIN if self.main else SUBAGENT}
        if self.subpath is not None:
            labels[SUBPATH] = self.subpath
        return labels


@dataclass(frozen=True, slots=True)
class Sidecar:
    """A summary sidecar: the SDK's opaque ``data`` and the last line time it covers."""

    mtime: int
    data: dict[str, Any]


def _chunk_key(n: int) -> str:
    return SUMMARY if n == 0 else f"{SUMMARY}.{n}"


def decode_sidecar(labels: Mapping[str, str]) -> Sidecar | None:
    """The sidecar kept in ``labels``, or None when there is none (or it does not parse)."""
    parts: list[str] = []
    while _chunk_key(len(parts)) in labels:
        parts.append(labels[_chunk_key(len(parts))])
    if not parts:
        return None
    try:
        value = _json.loads("".join(parts))
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    mtime, data = value.get("mtime"), value.get("data")
    if not isinstance(mtime, int) or isinstance(mtime, bool) or not isinstance(data, dict):
        return None
    return Sidecar(mtime, data)


def sidecar_patch(sidecar: Sidecar, labels: Mapping[str, str]) -> dict[str, str | None]:
    """The labels patch that replaces the sidecar in ``labels`` by ``sidecar`` (a chunk the new
    one does not use is removed)."""
    text = _json.dumps_str({"mtime": sidecar.mtime, "data": sidecar.data})
    chunks = [text[i : i + _CHUNK] for i in range(0, len(text), _CHUNK)]
    if len(chunks) > _MAX_CHUNKS:
        chunks = []
    patch: dict[str, str | None] = {_chunk_key(n): chunk for n, chunk in enumerate(chunks)}
    n = len(chunks)
    while _chunk_key(n) in labels:
        patch[_chunk_key(n)] = None
        n += 1
    return patch
