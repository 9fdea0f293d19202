"""Security headers on every HTTP answer: what the browser may load, run and show; and
the pages' forms accepted only from the pages' own origin.

The pages have no inline script or style, so the policy allows only this
origin's files. The API documentation pages (`/schema`, rendered by
third-party viewers from a CDN with inline scripts) get a policy of their
own that allows exactly that, and still may not be framed.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection, Request
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import RequestEncodingType
from litestar.handlers import BaseRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import Forbidden
from app.web.middleware import HttpMiddleware, send_problem

POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "media-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
DOCS_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
        "img-src 'self' data: https:",
        "font-src 'self' data: https://cdn.jsdelivr.net https://fonts.gstatic.com",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    )
)
DOCS_PREFIXES = ("/schema", "/swagger")
HSTS = "max-age=31536000; includeSubDomains"


def headers_for(
    path: str, *, https_only: bool, form_targets: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """The security headers of an answer to `path`. `form_targets`: the origins, beside
    this one, a form's answer may send the browser to (the OpenID providers' logout, after
    signing out: `form-action` holds for the redirects that follow a form)."""
    policy = DOCS_POLICY if path.startswith(DOCS_PREFIXES) else POLICY
    if form_targets and policy is POLICY:
        policy = policy.replace(
            "form-action 'self'", " ".join(("form-action 'self'", *form_targets))
        )
    headers = [
        ("content-security-policy", policy),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"),
        ("cross-origin-opener-policy", "same-origin"),
    ]
    if https_only:
        headers.append(("strict-transport-security", HSTS))
    return headers


def origin_of(url: str) -> str:
    """`https://host[:port]` of an address."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class SecurityHeaders(HttpMiddleware):
    """Adds the security headers to every HTTP answer that does not set its own."""

    def __init__(
        self, app: ASGIApp, *, https_only: bool, form_targets: tuple[str, ...] = ()
    ) -> None:
        super().__init__(app)
        self.https_only = https_only
        self.form_targets = form_targets

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        extra = headers_for(
            scope["path"], https_only=self.https_only, form_targets=self.form_targets
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in extra:
                    if name not in headers:
                        headers.add(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


# A host name or an address (IPv6 in brackets), then a port, as a Host header says them.
HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(?P<port>[0-9]{1,5}))?")
MAX_PORT = 65535


class WellFormedHost(HttpMiddleware):
    """400 for a Host header that names no host, or a port that is none: every address of
    the request is built from it (Litestar's `request.url` fails on such a port, and so
    would every page, its error page included)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = next((value for name, value in scope["headers"] if name == b"host"), None)
        if not host or well_formed_host(host.decode("latin-1")):
            await self.app(scope, receive, send)
            return
        await send_problem(send, HTTPStatus.BAD_REQUEST, "The Host header names no host.")


def well_formed_host(host: str) -> bool:
    found = HOST.fullmatch(host)
    return found is not None and int(found["port"] or 0) <= MAX_PORT


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART)


def same_origin(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """The request does not come from another site's page. Browsers say where a request
    comes from in `Sec-Fetch-Site`; older ones only in `Origin`, which pages with no
    referrer (the private pages) send as "null"."""
    fetched_from = connection.headers.get("sec-fetch-site")
    if fetched_from is not None:
        return fetched_from in ("same-origin", "none")
    origin = connection.headers.get("origin")
    own = f"{connection.url.scheme}://{connection.url.netloc}"
    return origin is None or origin in ("null", own)


async def forms_from_our_pages(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """Guard of the pages' forms: a browser posts them from guichet's own pages only, so
    another site cannot make its visitors book, cancel or answer in their name. A form's
    body is read here, before anything reads the database: a client sending it slowly
    never holds one of the pool's connections meanwhile (the form is kept for the
    handler)."""
    if connection.scope.get("method") not in UNSAFE_METHODS:
        return
    if not same_origin(connection):
        raise Forbidden("Send this form from guichet's own page.", code="cross_site_form")
    if isinstance(connection, Request) and connection.content_type[0] in FORM_TYPES:
        await connection.form()
