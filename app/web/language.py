"""The language of each request, chosen by the visitor and remembered: `?lang=en` (or
`fr`, or a tag of either such as `en-GB`) on any address, kept in a cookie for a year;
else that cookie; else what the browser prefers (`Accept-Language`); else French. Every
answer is rendered in it (pages, refusals, error pages), and a page says which
(`Content-Language`).

Also what every page's header needs for the switch to the other language, and HEAD
answered as GET without the body: both are ASGI middleware around the whole app, so that
they hold for addresses nothing answers (the 404 page) as much as for the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from babel.core import negotiate_locale
from jinja2 import Environment
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, MethodNotAllowedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils import normalize_path

from app import i18n
from app.web.middleware import HttpMiddleware, under_sockets

COOKIE = "guichet_lang"
PARAMETER = "lang"
ONE_YEAR = 365 * 24 * 3600
# Caches keep one answer per language a request may be given.
VARY = ("Accept-Language", "Cookie")
# Each language's name in itself, as the switch offers it.
NAMES = {"fr": "Français", "en": "English"}
# A language tag (BCP 47's shape): its primary subtag, then region, script… subtags.
TAG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")


def chosen(value: str | None) -> str | None:
    """The language of ours `value` names (`?lang=`, the cookie), whatever its case and
    whatever follows its primary subtag ("en-GB", "EN", "fr-CA"), else None: an unknown
    or malformed value is ignored, never an error."""
    value = (value or "").strip().lower()
    if not TAG.fullmatch(value):
        return None
    primary = value.partition("-")[0]
    return primary if primary in i18n.LANGUAGES else None


def preferred(header: str | None) -> list[str]:
    """The languages of an `Accept-Language` header, most wanted first ("en-GB,en;q=0.9"
    gives en_GB then en); those weighted 0 (not wanted) and "*" are left out."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "").split(",")):
        tag, _, parameters = item.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*":
            continue
        weight = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight > 0:
            weighted.append((-weight, position, tag.replace("-", "_")))
    return [tag for _, _, tag in sorted(weighted)]


def negotiated(header: str | None) -> str | None:
    """The language of ours the browser prefers, by Babel's matching (fr_CA is French,
    en_GB English); None when it names none of them."""
    match = negotiate_locale(preferred(header), list(i18n.LANGUAGES), aliases={})
    return match.split("_")[0] if match else None


def choose(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The language of a request: `?lang=` beats the cookie, which beats the browser's
    preference; French when none of them names one of ours."""
    return chosen(query) or chosen(cookie) or negotiated(accept_language) or i18n.DEFAULT_LANGUAGE


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _query_value(scope: Scope) -> str | None:
    """The first `lang=` of the query, as the pages read a repeated parameter
    (`query_params.get`, blank values left out)."""
    query = scope.get("query_string", b"").decode("latin-1")
    values = [value for key, value in parse_qsl(query) if key == PARAMETER]
    return values[0] if values else None


def _cookie_value(scope: Scope) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(_header(scope, b"cookie") or "")
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


def language_cookie(lang: str, *, secure: bool) -> Cookie:
    """The visitor's choice, kept a year: sent back on the pages' own links and forms
    (SameSite=Lax), readable by no other site, over HTTPS only when the service is."""
    return Cookie(
        key=COOKIE,
        value=lang,
        path="/",
        max_age=ONE_YEAR,
        samesite="lax",
        secure=secure,
        httponly=True,
    )


def _is_page(headers: MutableScopeHeaders) -> bool:
    content_type: str = headers.get("content-type", "")
    return content_type.startswith("text/html")


def _add_vary(headers: MutableScopeHeaders) -> None:
    present = [part.strip() for part in headers.get("vary", "").split(",") if part.strip()]
    lowered = {part.lower() for part in present}
    wanted = [part for part in VARY if part.lower() not in lowered]
    if "*" not in present and wanted:
        headers["vary"] = ", ".join([*present, *wanted])


def _is_lobby_screen(scope: Scope) -> bool:
    path = str(scope.get("path", ""))
    return path.startswith(LOBBY_SCREENS) and not path.startswith(NOT_PAGES)


class Language(HttpMiddleware):
    """Sets the request's language (`app.i18n.language`) around everything that answers
    it, and gives it back afterwards; keeps a `?lang=` choice in its cookie, and marks
    pages with their language and what it depends on."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        super().__init__(app)
        self.secure = secure

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        asked = chosen(_query_value(scope))
        if _is_lobby_screen(scope):
            # A screen in a waiting room speaks for the room, not for the browser it runs
            # in: French, or the language its address names (`?lang=en`), never kept.
            lang, remember = asked or i18n.DEFAULT_LANGUAGE, ""
        else:
            lang = choose(asked, _cookie_value(scope), _header(scope, b"accept-language"))
            kept = language_cookie(asked, secure=self.secure) if asked else None
            remember = kept.to_header(header="") if kept else ""

        async def send_in_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if _is_page(headers):
                    headers["content-language"] = lang
                    _add_vary(headers)
                if remember:
                    headers.add("set-cookie", remember)
            await send(message)

        with i18n.speaking(lang):
            await self.app(scope, receive, send_in_language)


class HeadAsGet:
    """HEAD answered as GET would be, without its body (the routes declare GET only, and
    Litestar would answer 405): link checkers, monitors and `curl -I` see the page's
    status and headers, Content-Length included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_head(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the rest of a long answer: only its end is sent, empty
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # A copy: the log and the server still see the HEAD they were sent.
        await self.app({**scope, "method": "GET"}, receive, send_head)


@dataclass(frozen=True)
class Switch:
    """The link of a page's header to the same page in the other language."""

    href: str
    lang: str
    name: str


# Methods whose answer is a page at its own address, one a link may open again.
LINKABLE = frozenset({"GET", "HEAD"})
# Addresses that are not pages: never a place for the switch to lead to.
LOBBY_SCREENS = "/display/"
NOT_PAGES = ("/api/", "/ws/", "/health/", "/metrics", "/schema", "/static/", "/display/static/")
# What a path may keep of its characters in the switch's link (the rest is escaped).
PATH_SAFE = "/%:@!$&()*+,;=~-._"


def _answers_get(request: Any, path: str) -> bool | None:
    """Whether the application answers GET at `path`: True, False when it answers that
    address with other methods only (405), None when nothing answers it (404)."""
    router = getattr(getattr(request, "app", None), "asgi_router", None)
    if router is None:  # a stand-in request, outside an application
        return True
    if under_sockets(path):
        return None
    try:
        router.handle_routing(path=normalize_path(path), method="GET")
    except MethodNotAllowedException:
        return False
    except HTTPException:  # not found, or not a valid path
        return None
    return True


def _ours(request: Any, netloc: str) -> bool:
    """Whether `netloc` (a referring page's host and port) is this service's."""
    own = {getattr(request.url, "netloc", "").lower()}
    settings = getattr(getattr(getattr(request, "app", None), "state", None), "settings", None)
    if settings is not None:
        own.add(urlsplit(settings.base_url).netloc.lower())
    return bool(netloc) and netloc.lower() in own


def _came_from(request: Any) -> tuple[str, str] | None:
    """The path and query of the page a form was sent from (the `Referer` of this
    request), if it is a page of ours that answers GET; None otherwise (no referrer,
    another site's page, an address taking forms only)."""
    headers = getattr(request, "headers", None)
    referer = headers.get("referer") if headers is not None else None
    if not referer:
        return None
    try:
        parts = urlsplit(referer)
    except ValueError:
        return None
    path = parts.path
    if parts.scheme not in ("http", "https") or not _ours(request, parts.netloc):
        return None
    # A path such as "//host/…" (or with a backslash) would lead browsers to another site.
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    if path.startswith(NOT_PAGES):  # a page, never the API's JSON or a style sheet
        return None
    if not _answers_get(request, unquote(path)):
        return None
    return quote(path, safe=PATH_SAFE), parts.query


def _address(request: Any, home: str) -> tuple[str, str]:
    """The address the switch opens again, as path and query: this page's when it answers
    GET; when it answers a form (POST…), the page that form was sent from, or `home`."""
    url = getattr(request, "url", None)
    if url is None:  # a template rendered outside a request: home
        return home, ""
    method = str(getattr(request, "method", "GET")).upper()
    answers_get = _answers_get(request, unquote(url.path))
    if method in LINKABLE and answers_get is not False:
        return url.path, url.query
    # A form's own address that opens with GET and carries its state in its query (the
    # booking's contact step: its démarche and slot) is the next best, then the home.
    carried = answers_get and url.query and not url.path.startswith(NOT_PAGES)
    own = (url.path, url.query) if carried else None
    return _came_from(request) or own or (home, "")


def switch_of(request: Any, home: str = "/", area: str | None = None) -> Switch:
    """The link to this page (its path and query, an old `lang=` dropped) in the language
    the visitor is not reading: English on French pages, French on English ones. A page
    answering a form is not an address to open again: the link goes to the page the form
    was sent from, else to `home` (the residents' home, or the staff's console). Pages
    of an `area` (the partners') lead to it only: a form sent from elsewhere, or a path
    that steps out of it (`..`), goes to `home`."""
    current = i18n.language.get()
    other = next(lang for lang in i18n.LANGUAGES if lang != current)
    path, query = _address(request, home)
    segments = path.split("/")
    outside = area is not None and path != area and not path.startswith(f"{area}/")
    if outside or "." in segments or ".." in segments:
        path, query = home, ""
    params = parse_qsl(query, keep_blank_values=True)
    kept = [(key, value) for key, value in params if key != PARAMETER]
    # A control character or a space typed in an address (the request's path comes
    # decoded) is not written raw into the page; a referrer's path comes encoded already,
    # and its escapes are kept as they are.
    address = quote(path, safe=PATH_SAFE)
    return Switch(f"{address}?{urlencode([*kept, (PARAMETER, other)])}", other, NAMES[other])


PATH_SAFE = "/:@!$&'()*+,;=%"  # with the unreserved characters, kept as they are in a path


def install(environment: Environment) -> None:
    """What the pages' templates need: the catalogs and formats (`app.i18n.install`) and
    the language switch (`language_switch(request)`)."""
    i18n.install(environment)
    environment.globals["language_switch"] = switch_of
