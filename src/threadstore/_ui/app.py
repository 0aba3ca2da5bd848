"""The web page's application: Starlette routes, Jinja templates (package data, autoescaped),
the guard of :mod:`.security` in front of every request, and store errors turned into pages.

:func:`create_app` takes a function that opens the store: the store is opened when the server
starts (in the server's event loop) and closed when it stops.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from threadstore._contract.base import ThreadStore
from threadstore._ui import routes
from threadstore._ui.security import Guard, new_nonce, secure_headers
from threadstore.errors import InvalidRequest, ThreadNotFound, ThreadStoreError

__all__ = ["create_app"]


def _templates() -> Jinja2Templates:
    env = Environment(loader=PackageLoader("threadstore._ui", "templates"), autoescape=select_autoescape(default=True))
    return Jinja2Templates(env=env)


class _GuardMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request.state.csp_nonce = nonce = new_nonce()
        refused = request.app.state.guard.check(request)
        return secure_headers(refused if refused is not None else await call_next(request), nonce)


def _error_page(status: int, title: str) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        message = exc.detail if isinstance(exc, InvalidRequest) else str(exc)
        context = {"title": title, "message": message, "form_token": "", "csp_nonce": request.state.csp_nonce}
        response: Response = request.app.state.templates.TemplateResponse(
            request, "error.html", context, status_code=status
        )
        return response

    return handler


def create_app(
    open_store: Callable[[], ThreadStore], *, token: str | None = None, loopback_only_hosts: bool = True
) -> Starlette:
    """The application over the store ``open_store`` opens. ``token`` (when given) is required
    from every request; ``loopback_only_hosts`` refuses requests addressed to other host names
    (see :mod:`.security`)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = open_store()
        app.state.store = store
        try:
            yield
        finally:
            await store.close()

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        ThreadNotFound: _error_page(404, "No such thread"),
        InvalidRequest: _error_page(400, "Cannot do that"),
        ThreadStoreError: _error_page(500, "The store failed"),
    }
    app = Starlette(
        routes=[
            Route("/", routes.thread_list),
            Route("/t/{thread_id}", routes.thread_page),
            Route("/t/{thread_id}/rename", routes.rename, methods=["POST"]),
            Route("/t/{thread_id}/archive", routes.archive, methods=["POST"]),
            Route("/t/{thread_id}/unarchive", routes.unarchive, methods=["POST"]),
            Route("/t/{thread_id}/delete", routes.delete, methods=["POST"]),
        ],
        middleware=[Middleware(_GuardMiddleware)],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state.guard = Guard(token=token, loopback_only_hosts=loopback_only_hosts)
    app.state.templates = _templates()
    return app
