"""Thread configuration: what a caller asks for (:class:`ThreadConfig`) and what a running
thread uses (:class:`ThreadConfigSnapshot`)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from threadstore._contract.types import MemoryMode, SessionSource, validate_memory_mode
from threadstore._rollout.policy import EventPersistenceMode, validate_mode
from threadstore._version import __version__
from threadstore.errors import InvalidRequest

__all__ = ["ORIGINATOR", "RUNTIME_VERSION", "ThreadConfig", "ThreadConfigSnapshot"]

ORIGINATOR: Final = "threadstore"
"""The ``originator`` recorded in the ``session_meta`` of threads this runtime creates."""


RUNTIME_VERSION: Final = __version__
"""The ``cli_version`` recorded for threads this runtime creates."""


def _default_sandbox() -> dict[str, Any]:
    return {"type": "read-only"}


@dataclass(frozen=True)
class ThreadConfig:
    """Settings of a thread to start, resume or fork.

    ``model`` and ``model_provider`` default to the manager's model client (its
    ``default_model`` and ``provider_id``). ``ephemeral`` threads persist nothing. The other
    fields are recorded in each turn's ``turn_context`` and in ``session_meta``.
    """

    cwd: str
    model: str | None = None
    model_provider: str | None = None
    ephemeral: bool = False
    base_instructions: str | None = None
    reasoning_effort: str | None = None
    approval_policy: str = "never"
    sandbox_policy: Mapping[str, Any] = field(default_factory=_default_sandbox)
    memory_mode: MemoryMode = "enabled"
    event_persistence_mode: EventPersistenceMode = "limited"
    dynamic_tools: Sequence[Mapping[str, Any]] = ()

    def __post_init__(self) -> None:
        cwd: object = self.cwd
        if isinstance(cwd, os.PathLike):
            cwd = os.fspath(cwd)
        if not isinstance(cwd, str) or not cwd:
            raise InvalidRequest("ThreadConfig.cwd must be a non-empty path")
        object.__setattr__(self, "cwd", cwd)
        for name in ("model", "model_provider", "base_instructions", "reasoning_effort"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise InvalidRequest(f"ThreadConfig.{name} must be a string")
        validate_memory_mode(self.memory_mode)
        validate_mode(self.event_persistence_mode)
        if not isinstance(self.sandbox_policy, Mapping):
            raise InvalidRequest("ThreadConfig.sandbox_policy must be an object")
        object.__setattr__(self, "dynamic_tools", tuple(dict(t) for t in self.dynamic_tools))

    def with_defaults(self, *, model: str, model_provider: str) -> ThreadConfig:
        """A copy whose unset ``model`` / ``model_provider`` take the given values."""
        return dataclasses.replace(
            self,
            model=self.model or model,
            model_provider=self.model_provider or model_provider,
        )


@dataclass(frozen=True)
class ThreadConfigSnapshot:
    """The settings a running thread uses."""

    thread_id: str
    model: str
    model_provider_id: str
    cwd: str
    approval_policy: str
    sandbox_policy: Mapping[str, Any]
    reasoning_effort: str | None
    ephemeral: bool
    session_source: SessionSource
    forked_from_thread_id: str | None
    memory_mode: MemoryMode
    base_instructions: str | None
    event_persistence_mode: EventPersistenceMode
    rollout_path: str | None
