"""The runtime layer: running threads above the storage contract.

* :class:`ThreadManager` - the registry: start, resume, fork, get, remove, shut down threads.
* :class:`Thread` - the handle of one running thread: submit ops, read events.
* :class:`Session` - one task per thread turning ops into turns and events.
* :class:`LiveThread` - the persistence lifecycle of one active thread.
* :mod:`threadstore._runtime.history` - pure functions over rollout items (rollback, fork cuts,
  model-history reconstruction).
* :mod:`threadstore._rollout.turns` (in the store layer, which serves turns a page at a time) - a
  thread's turns rebuilt from its rollout items, for rollouts of every Codex era.
* :mod:`threadstore._runtime.models` - the :class:`ModelClient` interface, the offline
  :class:`BuiltinModel` and :class:`OpenAIResponsesModel`.
"""

from typing import TYPE_CHECKING, Any

from threadstore._runtime.config import ThreadConfig, ThreadConfigSnapshot
from threadstore._runtime.errors import ModelError, ThreadClosed, ThreadRuntimeError
from threadstore._runtime.events import Event, Submission
from threadstore._runtime.live_thread import LiveThread, LiveThreadInitGuard
from threadstore._runtime.manager import ThreadManager
from threadstore._runtime.models.base import ModelClient, ModelCompleted, ModelRequest, TextDelta
from threadstore._runtime.models.builtin import BuiltinModel
from threadstore._runtime.session import Session
from threadstore._runtime.shutdown import ThreadShutdownReport
from threadstore._runtime.thread import Thread

if TYPE_CHECKING:
    from threadstore._runtime.models.openai_responses import OpenAIResponsesModel

__all__ = [
    "BuiltinModel",
    "Event",
    "LiveThread",
    "LiveThreadInitGuard",
    "ModelClient",
    "ModelCompleted",
    "ModelError",
    "ModelRequest",
    "OpenAIResponsesModel",
    "Session",
    "Submission",
    "TextDelta",
    "Thread",
    "ThreadClosed",
    "ThreadConfig",
    "ThreadConfigSnapshot",
    "ThreadManager",
    "ThreadRuntimeError",
    "ThreadShutdownReport",
]


def __getattr__(name: str) -> Any:
    if name == "OpenAIResponsesModel":
        from threadstore._runtime.models.openai_responses import OpenAIResponsesModel

        return OpenAIResponsesModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
