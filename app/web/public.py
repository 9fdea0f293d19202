"""What every resident's page shares: who opens it (`Visitor`: the request and its
context), refusals and errors shown as a page in the visitor's language with the right
status (on every address a browser asks a page of, ours or not; in the staff's frame at
the staff's addresses), forms accepted only from our own pages, and the short forms of
the private links."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.response import File, Redirect, Template

from app.accounts import sessions
from app.booking.schemas import Token
from app.errors import (
    DomainError,
    as_refusal,
    on_http_exception,
    on_unexpected_error,
    status_of,
)
from app.i18n import N_, gettext
from app.i18n.texts import refusal
from app.security import forms_from_our_pages
from app.web.context import Context, WithContext
from app.web.language import NOT_PAGES

# A page's title and text, by the status of what went wrong.
Words = Mapping[int, tuple[str, str]]

RESIDENTS_WORDS: Words = {
    404: (N_("Page introuvable"), N_("Cette page n'existe pas, ou ce lien n'est plus valable.")),
    # An address asked in a way it does not answer: a form's address opened by a link or a
    # reload, or a page sent a form.
    405: (
        N_("Cette adresse ne s'ouvre pas ainsi"),
        N_(
            "Cette page ne répond pas à cette demande. Revenez à la page précédente, puis "
            "recommencez."
        ),
    ),
    429: (
        N_("Trop de demandes"),
        N_(
            "Vous avez fait beaucoup de demandes en peu de temps : attendez un instant, puis "
            "réessayez."
        ),
    ),
    500: (N_("Erreur"), N_("Le service rencontre un problème. Réessayez dans un instant.")),
    503: (
        N_("Service momentanément indisponible"),
        N_("Le service est momentanément indisponible. Réessayez dans quelques secondes."),
    ),
}

# The staff's addresses (their pages and what lies under them): what goes wrong there is
# shown in the staff's frame, whoever asks.
STAFF_ADDRESSES = (
    "/accueil",
    "/poste",
    "/console",
    "/admin",
    "/statistiques",
    "/demandes",
    "/connexion",
    "/deconnexion",
)
# The partners' addresses: their error pages in the partners' frame.
PARTNER_ADDRESS = "/partenaires"
PARTNER_FRAME = {"layout": "partner_base.html"}
# Where the staff's dependency keeps the agent it found, in the request's scope state, for
# an error page of the same request.
STAFF_STATE = "guichet.staff"


def is_staff_address(path: str) -> bool:
    return any(path == prefix or path.startswith(f"{prefix}/") for prefix in STAFF_ADDRESSES)


def _signed_in(request: Request[Any, Any, State]) -> bool:
    """Whether this browser carries a genuine, unexpired staff session cookie (read
    without the database: an error page may have none to read)."""
    cookie = request.cookies.get(sessions.COOKIE)
    if not cookie:
        return False
    state = request.app.state
    return sessions.session_id_of(cookie, state.settings, state.clock()) is not None


def staff_frame(request: Request[Any, Any, State]) -> dict[str, Any]:
    """What an error page needs to be shown in the staff's layout: the agent logged in,
    when the staff's dependency found them for this request, and whether to lead back to
    the console (signed in) or to the login page."""
    staff = request.scope.get("state", {}).get(STAFF_STATE)
    frame: dict[str, Any] = {"layout": "staff_base.html"}
    if staff is not None:
        frame["staff"] = staff
    frame["signed_in"] = staff is not None or _signed_in(request)
    return frame


def error_page(
    exc: Exception,
    words: Words,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    frame: Mapping[str, Any] | None = None,
) -> Template:
    """What went wrong as a page in the visitor's language: in `words` by its status, else
    a refusal's own text (below 500) or the server's error; in the residents' layout, or
    the one `frame` names (`staff_frame`)."""
    status = status_of(exc) if status is None else status
    if status in words:
        title, text = (gettext(word) for word in words[status])
    elif status < 500:
        title, text = gettext("Demande impossible"), refusal(getattr(exc, "code", ""))
    else:
        title, text = (gettext(word) for word in words[500])
    if headers is None:
        headers = exc.headers if isinstance(exc, DomainError) else {}
    context = {**(frame or {}), "title": title, "text": text}
    return Template("page_error.html", context=context, status_code=status, headers=headers)


def asks_for_a_page(request: Request[Any, Any, State]) -> bool:
    """Whether a browser asks for this address as a page (rather than an API client).
    Addresses that are never pages (`NOT_PAGES`) keep problem details for their errors."""
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith(
        NOT_PAGES
    )


def frame_of(request: Request[Any, Any, State]) -> dict[str, Any]:
    """The frame of an error page at this address: the staff's at theirs, the partners' at
    theirs, the residents' (none to name) everywhere else."""
    path = request.url.path
    if is_staff_address(path):
        return staff_frame(request)
    partners = path == PARTNER_ADDRESS or path.startswith(f"{PARTNER_ADDRESS}/")
    return dict(PARTNER_FRAME) if partners else {}


def on_unknown_address(request: Request[Any, Any, State], exc: HTTPException) -> Response[Any]:
    """An address nothing answers (404), or answers with another method (405), or a server
    error outside the pages' own handlers, asked for by a browser: a page in the visitor's
    language rather than problem details; anything else as the API says."""
    answer = on_http_exception(request, exc)  # logs what needs it
    if asks_for_a_page(request) and (exc.status_code in (404, 405) or exc.status_code >= 500):
        headers = dict(answer.headers)
        return error_page(exc, RESIDENTS_WORDS, answer.status_code, headers, frame_of(request))
    return answer


def on_failure(request: Request[Any, Any, State], exc: Exception) -> Response[Any]:
    """What no handler foresaw (a bug: 500; the database away: 503 with Retry-After),
    recorded as the API's handler does; a browser asking for a page gets it as a page in
    its language, with the same status and headers."""
    answer = on_unexpected_error(request, exc)
    if not asks_for_a_page(request):
        return answer
    headers = dict(answer.headers)
    shown = as_refusal(exc) or exc
    return error_page(shown, RESIDENTS_WORDS, answer.status_code, headers, frame_of(request))


def on_page_error(request: Request[Any, Any, State], exc: Exception) -> Response[Any]:
    """Errors on the usager's pages, as a page in their language with the right status."""
    return error_page(exc, RESIDENTS_WORDS)


@dataclass(frozen=True)
class Visitor(WithContext):
    """Whoever opens a resident's page: the request, with its context (the one session,
    the time, the settings)."""

    request: Request[Any, Any, State]


async def provide_visitor(
    request: Request[Any, Any, State], context: NamedDependency[Context]
) -> Visitor:
    return Visitor(context=context, request=request)


class PublicController(Controller):
    """The base of the residents' pages: the one opening them is `visitor`, they stay out
    of the API's document, forms come from our pages only, errors are pages."""

    include_in_schema = False
    guards = [forms_from_our_pages]
    exception_handlers = {DomainError: on_page_error, HTTPException: on_page_error}
    dependencies = {"visitor": Provide(provide_visitor)}


def short_link(path: str, target: str) -> HTTPRouteHandler:
    """The page at `path`, the short form of a private link (for text messages), sending
    on to `target`; both hold the link's `{token}`."""

    async def send_on(self: Controller, token: Token) -> Redirect:
        return Redirect(target.format(token=token), status_code=303)

    return get(path)(send_on)


FAVICON = Path(__file__).parent / "static" / "favicon.ico"


@get("/favicon.ico", include_in_schema=False, sync_to_thread=False)
def favicon() -> File:
    """The tab's icon where browsers look for it first (the pages also link the SVG)."""
    return File(FAVICON, media_type="image/x-icon", content_disposition_type="inline")
