"""Who may use the page, and what a page may do in a browser: the host check, the access
token, the form token, same-origin redirects and the headers every answer carries.

* Host check: a page served on a loopback address answers only requests whose ``Host`` names a
  loopback address or ``localhost`` (another site cannot reach it through a DNS name that points
  at 127.0.0.1).
* Access token (``threadstore ui`` always has one unless ``--no-auth`` is given on loopback;
  a page off loopback cannot go without): a request carries it as ``Authorization: Bearer
  TOKEN`` or in the ``threadstore_ui`` cookie; a ``?token=TOKEN`` query sets that cookie and
  redirects to the same page without it, so the token leaves the address bar. That redirect
  stays on this origin: its target is a path of the page (``//host/`` or ``/\\host/`` cannot
  make it an address elsewhere).
* Form token: every form that changes something carries a per-process random value that other
  sites cannot know (no cross-site request can rename, archive or delete).
* Headers (:func:`secure_headers`, on every answer, refusals included): the page cannot be
  framed by another site (``X-Frame-Options: DENY``, CSP ``frame-ancestors 'none'``: no
  clickjacking); its content security policy lets nothing load or run but its own style and
  script, marked with a per-answer nonce; forms post only to the page itself; no referrer leaves
  it; content types are not sniffed.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Final

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from threadstore._net import is_loopback

__all__ = ["COOKIE", "Guard", "is_loopback", "new_nonce", "same_origin_path", "secure_headers"]

COOKIE: Final = "threadstore_ui"


def new_nonce() -> str:
    """A fresh nonce for one answer's content security policy."""
    return secrets.token_urlsafe(18)


def secure_headers(response: Response, nonce: str) -> Response:
    """Set the headers of the module documentation on ``response`` (its own style and script
    carry ``nonce``)."""
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def same_origin_path(url: URL) -> str:
    """The path and query of ``url`` as a redirect target that stays on this origin."""
    path = "/" + url.path.lstrip("/\\")
    return path + (f"?{url.query}" if url.query else "")


def _host_name(header: str) -> str:
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@dataclass
class Guard:
    """The checks of the module documentation for one served page."""

    token: str | None
    loopback_only_hosts: bool
    form_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def _token_ok(self, request: Request) -> bool:
        if self.token is None:
            return True
        offered = request.cookies.get(COOKIE, "")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            offered = header[7:].strip()
        return hmac.compare_digest(offered.encode(), self.token.encode())

    def check(self, request: Request) -> Response | None:
        """None when the request may go on; else the response that refuses it."""
        if self.loopback_only_hosts and not is_loopback(_host_name(request.headers.get("host", ""))):
            return PlainTextResponse("This page answers only on localhost.", status_code=403)
        query_token = request.query_params.get("token")
        if self.token is not None and query_token is not None:
            if not hmac.compare_digest(query_token.encode(), self.token.encode()):
                return PlainTextResponse("Wrong token.", status_code=401)
            clean = URL(str(request.url)).remove_query_params("token")
            response = RedirectResponse(same_origin_path(clean), 303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
            return response
        if not self._token_ok(request):
            return PlainTextResponse(
                "This page needs its access token: open the address `threadstore ui` printed (it ends in ?token=...).",
                status_code=401,
            )
        return None

    def form_ok(self, submitted: object) -> bool:
        """True when a submitted form carries this page's form token."""
        return isinstance(submitted, str) and hmac.compare_digest(submitted.encode(), self.form_token.encode())
