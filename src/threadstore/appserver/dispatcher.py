"""Routing of requests: initialize gating, method lookup, per-thread serialisation, errors.

* The first request must be ``initialize``; any other gets ``Not initialized`` and a second
  ``initialize`` gets ``Already initialized`` (both ``-32600``).
* An unknown method gets ``-32601``; malformed params ``-32602``; store and runtime errors are
  mapped by :func:`~threadstore.appserver.errors.error_from_exception`.
* Requests naming the same ``threadId`` run one at a time, in arrival order; reads
  (``thread/read``, ``thread/list``, ``thread/loaded/list``) and requests on other threads run
  concurrently.
* A response is sent before the notifications its handler asked for; a deferred answer is sent
  later by the thread's listener.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from .errors import INTERNAL_ERROR, METHOD_NOT_FOUND, RpcError, error_from_exception
from .framing import Request
from .handlers import Deferred, Handler, Handlers, Reply
from .params import Params
from .state import Outbox

__all__ = ["Dispatcher"]

logger: Final = logging.getLogger("threadstore.appserver")

CONCURRENT_METHODS: Final = frozenset({"thread/read", "thread/list", "thread/loaded/list"})


class Dispatcher:
    def __init__(self, handlers: Handlers, outbox: Outbox) -> None:
        self._handlers = handlers
        self._routes: dict[str, Handler] = handlers.routes()
        self._out = outbox
        self._locks: dict[str, _CountedLock] = {}
        self.initialized = False

    async def handle(self, request: Request) -> None:
        """Answer one request (now, or later through the listener when deferred)."""
        try:
            outcome = await self._dispatch(request)
        except Exception as exc:
            error = error_from_exception(exc)
            if error.code == INTERNAL_ERROR:
                logger.error("%s (request %r) failed", request.method, request.id, exc_info=exc)
            else:
                logger.debug("%s (request %r) refused: %s", request.method, request.id, error.message)
            self._out.fail(request.id, error)
            return
        if isinstance(outcome, Deferred):
            return
        self._out.respond(request.id, outcome.result)
        for method, params in outcome.then:
            self._out.notify(method, params)

    async def _dispatch(self, request: Request) -> Reply | Deferred:
        # Gating happens before the first await, so requests are gated in arrival order.
        if request.method == "initialize":
            if self.initialized:
                raise RpcError.invalid_request("Already initialized")
            params = Params(request.params)
            self.initialized = True
            return Reply(self._handlers.initialize(params))
        if not self.initialized:
            raise RpcError.invalid_request("Not initialized")
        handler = self._routes.get(request.method)
        if handler is None:
            raise RpcError(METHOD_NOT_FOUND, f"Method not found: {request.method}")
        params = Params(request.params)
        key = params.raw.get("threadId")
        if request.method in CONCURRENT_METHODS or not isinstance(key, str):
            return await handler(params, request.id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = _CountedLock()
        lock.users += 1
        try:
            async with lock.lock:
                return await handler(params, request.id)
        finally:
            lock.users -= 1
            if lock.users == 0:
                del self._locks[key]


class _CountedLock:
    """A per-thread lock that is forgotten once no request holds or waits for it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0
