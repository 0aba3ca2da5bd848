"""``ThreadMetadataPatch``: a metadata update with presence semantics.

Every field defaults to :data:`UNSET` ("leave unchanged"). A value sets the field. For clearable
fields, ``None`` clears it. In JSON an omitted key means "leave", ``null`` means "clear" and a
value means "set" (:meth:`ThreadMetadataPatch.to_json` / :meth:`~ThreadMetadataPatch.from_json`
round-trip exactly). :meth:`~ThreadMetadataPatch.merge` lets a later patch overwrite an earlier
one field by field, recursively for ``git_info``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, TypeAlias, TypeVar, Union

from threadstore._checks import check_instant, check_json, check_labels, check_text
from threadstore._contract.fields import FieldSpec, Kind
from threadstore._contract.serialize import value_to_json
from threadstore._contract.thread import THREAD_FIELDS
from threadstore._contract.types import (
    GitInfo,
    MemoryMode,
    SessionSource,
    StoredThread,
    TokenUsage,
    validate_memory_mode,
    validate_source,
)
from threadstore._ids import validate_thread_id
from threadstore._time import parse_timestamp
from threadstore.errors import InvalidRequest

__all__ = [
    "UNSET",
    "USER_FIELDS",
    "GitInfoPatch",
    "ThreadMetadataPatch",
    "Unset",
    "UpdateThreadMetadataParams",
    "apply_patch",
    "merge_labels",
    "reconcile_overrides",
]


class Unset(enum.Enum):
    """The type of :data:`UNSET`."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = Unset.UNSET
"""Marks a patch field as absent (leave the stored value unchanged)."""

T = TypeVar("T")
Clearable: TypeAlias = Union[T, Literal[Unset.UNSET], None]  # noqa: UP007


def _check_str(name: str, value: object, clearable: bool) -> None:
    if value is UNSET or (clearable and value is None):
        return
    if not isinstance(value, str):
        raise InvalidRequest(f"patch field {name} must be a string{' or null' if clearable else ''}")
    check_text(value, f"patch field {name}")


@dataclass(frozen=True, slots=True)
class GitInfoPatch:
    """A patch of the git facts; each field may be set, cleared (None) or left (UNSET)."""

    sha: Clearable[str] = UNSET
    branch: Clearable[str] = UNSET
    origin_url: Clearable[str] = UNSET

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_str(f.name, getattr(self, f.name), clearable=True)

    def is_empty(self) -> bool:
        return self.sha is UNSET and self.branch is UNSET and self.origin_url is UNSET

    def merge(self, later: GitInfoPatch) -> GitInfoPatch:
        return GitInfoPatch(
            sha=self.sha if later.sha is UNSET else later.sha,
            branch=self.branch if later.branch is UNSET else later.branch,
            origin_url=self.origin_url if later.origin_url is UNSET else later.origin_url,
        )

    def apply(self, current: GitInfo | None) -> GitInfo | None:
        """The git facts after applying this patch to ``current``."""
        base = current or GitInfo()
        result = GitInfo(
            commit_hash=base.commit_hash if self.sha is UNSET else self.sha,
            branch=base.branch if self.branch is UNSET else self.branch,
            repository_url=base.repository_url if self.origin_url is UNSET else self.origin_url,
        )
        return None if result == GitInfo() else result

    def to_json(self) -> dict[str, str | None]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not UNSET}

    @classmethod
    def of(cls, info: GitInfo | None) -> GitInfoPatch:
        """The patch that makes a thread's git facts ``info`` (all three fields set or cleared)."""
        facts = info or GitInfo()
        return cls(sha=facts.commit_hash, branch=facts.branch, origin_url=facts.repository_url)

    @classmethod
    def from_json(cls, value: object) -> GitInfoPatch:
        if not isinstance(value, Mapping):
            raise InvalidRequest("git_info patch must be an object")
        unknown = set(value) - {"sha", "branch", "origin_url"}
        if unknown:
            raise InvalidRequest(f"unknown git_info patch field(s): {', '.join(sorted(unknown))}")
        return cls(**{k: v for k, v in value.items()})


_PATCHED: Final = {spec.name: spec for spec in THREAD_FIELDS if spec.patch is not None}
_TEXT_KINDS: Final = (Kind.TEXT, Kind.OPT_TEXT, Kind.JSON_TEXT)
USER_FIELDS: Final = tuple(spec for spec in THREAD_FIELDS if spec.patch == "user")
"""The fields people set (a name, the memory mode, git facts): kept by every backend, carried by
copies."""
_TITLE: Final = "title"
"""A patch may carry a ``title`` (Codex's patch has one); no thread field keeps it."""


@dataclass(frozen=True, slots=True)
class ThreadMetadataPatch:
    """A literal metadata patch; stores apply the fields as given.

    ``name``, ``memory_mode`` and ``git_info`` are the user-facing fields every backend applies
    durably. The other fields carry metadata derived from a thread's items (``LiveThread`` sends
    them); backends that derive the same facts from the history themselves may treat them as
    overrides.
    """

    name: Clearable[str] = UNSET
    memory_mode: MemoryMode | Unset = UNSET
    git_info: GitInfoPatch | Unset = UNSET
    preview: str | Unset = UNSET
    title: str | Unset = UNSET
    first_user_message: str | Unset = UNSET
    model_provider: str | Unset = UNSET
    model: str | Unset = UNSET
    reasoning_effort: Clearable[str] = UNSET
    cwd: str | Unset = UNSET
    cli_version: str | Unset = UNSET
    source: SessionSource | Unset = UNSET
    thread_source: Clearable[str] = UNSET
    agent_nickname: Clearable[str] = UNSET
    agent_role: Clearable[str] = UNSET
    agent_path: Clearable[str] = UNSET
    approval_mode: str | Unset = UNSET
    sandbox_policy: Any = UNSET
    token_usage: TokenUsage | Unset = UNSET
    created_at: datetime | Unset = UNSET
    updated_at: datetime | Unset = UNSET
    #: Labels to set (a None value removes the key); the others stay as they are.
    labels: Mapping[str, str | None] | Unset = UNSET

    def __post_init__(self) -> None:
        _check_str(_TITLE, self.title, clearable=False)
        for name, spec in _PATCHED.items():
            value = getattr(self, name)
            if value is UNSET or (spec.clearable and value is None):
                continue
            _check_value(spec, value)
        if self.labels is not UNSET:
            object.__setattr__(self, "labels", check_labels(self.labels, "patch field labels", removals=True))
        new_name = self.name
        if isinstance(new_name, str) and not new_name.strip():
            raise InvalidRequest("a thread name must not be empty (clear the name instead)")

    def present(self) -> dict[str, Any]:
        """The fields that are present, by name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not UNSET}

    def is_empty(self) -> bool:
        return not self.present()

    def merge(self, later: ThreadMetadataPatch) -> ThreadMetadataPatch:
        """This patch followed by ``later``: every field present in ``later`` wins."""
        changes = later.present()
        if isinstance(self.git_info, GitInfoPatch) and isinstance(later.git_info, GitInfoPatch):
            changes["git_info"] = self.git_info.merge(later.git_info)
        if isinstance(self.labels, Mapping) and isinstance(later.labels, Mapping):
            changes["labels"] = {**self.labels, **later.labels}
        return dataclasses.replace(self, **changes)

    @classmethod
    def setting(cls, spec: FieldSpec, value: Any, *, replacing: Any = None) -> ThreadMetadataPatch:
        """The patch that sets the field ``spec`` describes to the thread value ``value`` (for
        labels, ``replacing`` names the labels it replaces: those not in ``value`` go)."""
        if spec.kind is Kind.GIT:
            value = GitInfoPatch.of(value)
        elif spec.kind is Kind.LABELS:
            value = {**dict.fromkeys(replacing or ()), **value}
        changes: dict[str, Any] = {spec.name: value}
        return cls(**changes)

    def without(self, *names: str) -> ThreadMetadataPatch:
        """A copy with the given fields made absent."""
        return dataclasses.replace(self, **{n: UNSET for n in names})

    def only(self, *names: str) -> ThreadMetadataPatch:
        """A copy keeping only the given fields."""
        return ThreadMetadataPatch(**{n: getattr(self, n) for n in names})

    def to_json(self) -> dict[str, Any]:
        """JSON with presence semantics (omitted = leave, null = clear)."""
        out: dict[str, Any] = {}
        for name, value in self.present().items():
            if isinstance(value, GitInfoPatch):
                out[name] = value.to_json()
            elif name in _PATCHED:
                out[name] = value_to_json(_PATCHED[name].kind, value)
            else:
                out[name] = value
        return out

    @classmethod
    def from_json(cls, value: object) -> ThreadMetadataPatch:
        """Parse the JSON form; unknown keys are refused with :class:`InvalidRequest`."""
        if not isinstance(value, Mapping):
            raise InvalidRequest("metadata patch must be an object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(value) - known
        if unknown:
            raise InvalidRequest(f"unknown metadata patch field(s): {', '.join(sorted(unknown))}")
        fields: dict[str, Any] = {}
        for name, raw in value.items():
            spec = _PATCHED.get(name)
            if spec is None or raw is None:
                fields[name] = raw
            elif spec.kind is Kind.GIT:
                fields[name] = GitInfoPatch.from_json(raw)
            elif spec.kind is Kind.USAGE:
                usage = TokenUsage.from_json(raw)
                if usage is None:
                    raise InvalidRequest(f"{name} must be an object")
                fields[name] = usage
            elif spec.kind is Kind.LABELS:
                fields[name] = check_labels(raw, f"patch field {name}", removals=True)
            elif spec.kind is Kind.TIME:
                parsed = parse_timestamp(raw)
                if parsed is None:
                    raise InvalidRequest(f"{name} must be an RFC 3339 timestamp")
                fields[name] = parsed
            else:
                fields[name] = raw
        return cls(**fields)


def _check_value(spec: FieldSpec, value: object) -> None:
    """``InvalidRequest`` unless ``value`` is one the field ``spec`` can be set to."""
    name, kind = spec.name, spec.kind
    if kind in _TEXT_KINDS:
        _check_str(name, value, clearable=False)
    elif kind is Kind.MEMORY:
        validate_memory_mode(value)
    elif kind is Kind.GIT:
        if not isinstance(value, GitInfoPatch):
            raise InvalidRequest(f"patch field {name} must be a GitInfoPatch")
    elif kind is Kind.SOURCE:
        validate_source(value)
    elif kind is Kind.USAGE:
        if not isinstance(value, TokenUsage):
            raise InvalidRequest(f"patch field {name} must be a TokenUsage")
    elif kind is Kind.TIME:
        check_instant(value, f"patch field {name}")
    elif kind is Kind.JSON:
        check_json(value, f"patch field {name}")
    elif kind is Kind.LABELS:
        check_labels(value, f"patch field {name}", removals=True)
    else:  # pragma: no cover - a kind the table gives a patchable field must be handled above
        raise InvalidRequest(f"patch field {name} cannot be set")


def merge_labels(labels: Mapping[str, str], patch: Mapping[str, str | None]) -> dict[str, str]:
    """``labels`` after a labels patch: its keys set, those given None removed."""
    merged = dict(labels)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def apply_patch(thread: StoredThread, patch: ThreadMetadataPatch) -> StoredThread:
    """The thread as it reads after ``patch`` (``title`` and ``git_info`` mapped onto the
    thread's fields; ``updated_at`` never moves backwards)."""
    changes: dict[str, Any] = {}
    for name, value in patch.present().items():
        if name == _TITLE:
            continue
        if name == "git_info":
            assert isinstance(value, GitInfoPatch)
            changes["git_info"] = value.apply(thread.git_info)
        elif name == "labels":
            changes["labels"] = merge_labels(thread.labels, value)
        elif name == "updated_at":
            changes["updated_at"] = max(value, thread.updated_at)
        else:
            changes[name] = value
    return dataclasses.replace(thread, **changes) if changes else thread


def reconcile_overrides(
    current: ThreadMetadataPatch, patch: ThreadMetadataPatch, derived: StoredThread
) -> ThreadMetadataPatch:
    """The overrides to keep after ``patch``, for a store that derives ``derived`` (the thread as
    its items describe it, without overrides) and keeps ``current`` on top of it.

    The items are the truth for derived facts (preview, token usage, model, ...): a patch field
    that repeats them stores nothing (and removes an older override of that field), so a later
    append by any program still shows through. A
    value that differs is an explicit override and stays; ``updated_at`` only ever moves
    forward. ``title`` has no field of its own and is never kept."""
    keep: dict[str, Any] = {}
    drop: list[str] = []
    for name, value in patch.present().items():
        if name == _TITLE:
            continue
        if name == "updated_at":
            if value > derived.updated_at:
                keep[name] = value
        elif name == "labels":
            before = merge_labels(derived.labels, current.labels if isinstance(current.labels, Mapping) else {})
            result = merge_labels(before, value)
            differing = {k: result.get(k) for k in {*result, *derived.labels} if result.get(k) != derived.labels.get(k)}
            if differing:
                keep[name] = differing
            else:
                drop.append(name)
        elif value == getattr(derived, name):
            drop.append(name)
        else:
            keep[name] = value
    return current.without(*drop).merge(ThreadMetadataPatch(**keep))


@dataclass(frozen=True, slots=True)
class UpdateThreadMetadataParams:
    """Apply ``patch`` to a thread's metadata (an archived thread only with ``include_archived``)."""

    thread_id: str
    patch: ThreadMetadataPatch
    include_archived: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "thread_id", validate_thread_id(self.thread_id))
        if not isinstance(self.patch, ThreadMetadataPatch):
            raise InvalidRequest("patch must be a ThreadMetadataPatch")
