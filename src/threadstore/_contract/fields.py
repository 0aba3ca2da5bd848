"""How a thread's metadata fields are described: one :class:`FieldSpec` per field of
:class:`~threadstore._contract.thread.StoredThread`, given where the field is declared (its
``metadata``), so that each field is described once, in one table.

A spec says what kind of value the field holds (:class:`Kind`: how it reads and writes as JSON,
on the wire and in a patch), its number in the wire message ``codex.thread_store.v1.StoredThread``,
how the summary fold derives it from a thread's lines, whether and how a metadata patch sets it,
its name in the app-server v2 ``Thread`` object, and the label people see it under. The
conversions of :mod:`.serialize`, the wire (:mod:`threadstore._wire.threads`), the app server, the
patch (:mod:`.patch`), copies and the views all read the table; a test checks it against the
``.proto``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = ["FieldSpec", "Kind", "PatchRule", "spec", "spec_of"]

_KEY: Final = "threadstore"


class Kind(enum.Enum):
    """What a field holds, which decides how it converts everywhere."""

    #: A thread id (required).
    ID = "id"
    #: A string ("" when unknown).
    TEXT = "text"
    #: A string or None.
    OPT_TEXT = "opt_text"
    #: A thread id or None (another thread this one refers to).
    OPT_ID = "opt_id"
    #: A timezone-aware UTC datetime; on the wire Unix seconds plus ``<name>_micros``.
    TIME = "time"
    #: A datetime or None.
    OPT_TIME = "opt_time"
    #: The session source (a string or a one-key object); on the wire ``SessionSource``.
    SOURCE = "source"
    #: :class:`GitInfo` or None; on the wire ``GitInfo``.
    GIT = "git"
    #: :class:`TokenUsage` or None; on the wire ``<name>_json``.
    USAGE = "usage"
    #: Any JSON value; on the wire ``<name>_json``.
    JSON = "json"
    #: A string or None, carried as JSON on the wire (``<name>_json``, as Codex does).
    JSON_TEXT = "json_text"
    #: ``"enabled"`` or ``"disabled"``; on the wire the ``ThreadMemoryMode`` enum.
    MEMORY = "memory"
    #: ``"legacy"`` or ``"paginated"``; on the wire an optional string, absent for legacy.
    HISTORY_MODE = "history_mode"
    #: The thread's history, when asked for.
    HISTORY = "history"
    #: Labels: key -> text (empty when none); on the wire a ``map<string, string>``. A patch
    #: merges its labels into them (a None value removes a key).
    LABELS = "labels"


PatchRule = Literal["user", "derived"]
"""``user``: a fact people set (a name, the memory mode, git facts), kept durably by every
backend and carried by copies. ``derived``: a fact the fold derives from the lines, which a
patch may override (``LiveThread`` sends them)."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One metadata field (see the module documentation). ``name`` is filled in from the
    dataclass field that carries the spec."""

    kind: Kind
    #: Its field number in ``codex.thread_store.v1.StoredThread`` (None: not on the wire).
    wire: int | None = None
    #: The wire number of its ``<name>_micros`` companion (time fields only).
    wire_micros: int | None = None
    #: The :class:`~threadstore._rollout.summary.ThreadSummary` attribute it is derived from,
    #: or a function of the summary; None: not derived from the lines.
    fold: str | Callable[[Any], Any] | None = None
    #: Whether and how a patch sets it (None: no patch sets it).
    patch: PatchRule | None = None
    #: Whether a patch may clear it (``None``).
    clearable: bool = False
    #: Its key in the app-server v2 ``Thread`` object, if it has one.
    v2: str | None = None
    #: The label people see it under (None: not shown among a thread's facts).
    shown: str | None = None
    name: str = field(default="", compare=False)

    @property
    def wire_name(self) -> str:
        """Its field name in the wire message."""
        if self.kind in (Kind.USAGE, Kind.JSON, Kind.JSON_TEXT):
            return f"{self.name}_json"
        return self.name


def spec(kind: Kind, **details: Any) -> dict[str, FieldSpec]:
    """The ``metadata`` of a dataclass field that a :class:`FieldSpec` describes:
    ``field(default=..., metadata=spec(Kind.TEXT, wire=3, ...))``."""
    return {_KEY: FieldSpec(kind, **details)}


def spec_of(dataclass_field: Any) -> FieldSpec | None:
    """The spec a dataclass field carries, named after the field; None if it has none."""
    found = dataclass_field.metadata.get(_KEY)
    if found is None:
        return None
    described: FieldSpec = found
    return dataclasses.replace(described, name=dataclass_field.name)
