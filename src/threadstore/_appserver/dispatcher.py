"""Routing of requests: initialize gating, method lookup, per-thread serialisation, errors.

One dispatcher serves every connection of a server.

* On each connection the first request must be ``initialize``; any other gets ``Not
  initialized`` and a second ``initialize`` gets ``Already initialized`` (both ``-32600``).
* An unknown method gets ``-32601``; malformed params ``-32602``; store and runtime errors are
  mapped by :func:`~threadstore._appserver.errors.error_from_exception`.
* Requests naming the same ``threadId`` run one at a time, in arrival order, whichever
  connection sent them; reads (``thread/read``, ``thread/list``, ``thread/loaded/list``,
  ``thread/search``) and requests on other threads run concurrently.
* A response is sent before whatever its handler asked to do after it (notifications); a
  deferred answer is sent later by the thread's listener.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from threadstore._appserver.context import Deferred, Handler, Reply, RequestContext
from threadstore._appserver.errors import INTERNAL_ERROR, METHOD_NOT_FOUND, RpcError, error_from_exception
from threadstore._appserver.framing import Request
from threadstore._appserver.handlers import Handlers
from threadstore._appserver.hub import Member
from threadstore._appserver.params import Params
from threadstore._appserver.state import Responder

__all__ = ["Dispatcher"]

logger: Final = logging.getLogger("threadstore.appserver")

CONCURRENT_METHODS: Final = frozenset({"thread/read", "thread/list", "thread/loaded/list", "thread/search"})


class Dispatcher:
    def __init__(self, handlers: Handlers) -> None:
        self._handlers = handlers
        self._routes: dict[str, Handler] = handlers.routes()
        self._locks: dict[str, _CountedLock] = {}

    async def handle(self, member: Member, request: Request) -> None:
        """Answer one request of ``member`` (now, or later through the listener when deferred)."""
        responder = Responder(member.outbox, request.id)
        try:
            outcome = await self._dispatch(member, request, responder)
        except Exception as exc:
            error = error_from_exception(exc)
            if error.code == INTERNAL_ERROR:
                logger.error("%s (request %r) failed", request.method, request.id, exc_info=exc)
            else:
                logger.debug("%s (request %r) refused: %s", request.method, request.id, error.message)
            responder.fail(error)
            return
        if isinstance(outcome, Deferred):
            return
        responder.respond(outcome.result)
        if outcome.then is not None:
            outcome.then()

    async def _dispatch(self, member: Member, request: Request, responder: Responder) -> Reply | Deferred:
        # Gating happens before the first await, so requests are gated in arrival order.
        if request.method == "initialize":
            if member.initialized:
                raise RpcError.invalid_request("Already initialized")
            params = Params(request.params)
            member.initialized = True
            return Reply(self._handlers.initialize(params))
        if not member.initialized:
            raise RpcError.invalid_request("Not initialized")
        handler = self._routes.get(request.method)
        if handler is None:
            raise RpcError(METHOD_NOT_FOUND, f"Method not found: {request.method}")
        params = Params(request.params)
        ctx = RequestContext(member, responder)
        key = params.raw.get("threadId")
        if request.method in CONCURRENT_METHODS or not isinstance(key, str):
            return await handler(params, ctx)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = _CountedLock()
        lock.users += 1
        try:
            async with lock.lock:
                return await handler(params, ctx)
        finally:
            lock.users -= 1
            if lock.users == 0:
                del self._locks[key]


class _CountedLock:
    """A per-thread lock that is forgotten once no request holds or waits for it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0
