"""What every staff page shares: the agent logged in on this browser, the controller
that makes refusals into pages in the staff's frame (or the login page), going back after
a form, and a form's refusals shown beside its fields."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode

import anyio.to_thread
import segno
from litestar import Controller, Request, Response
from litestar.datastructures import FormMultiDict, State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.response import Redirect
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service as accounts
from app.accounts import sessions
from app.accounts.actors import Actor
from app.accounts.guards import session_of
from app.accounts.models import Agent
from app.config import Settings
from app.errors import DomainError, Unauthorized
from app.i18n import N_
from app.security import forms_from_our_pages
from app.sites.models import Site
from app.sites.service import get_site
from app.web.context import Context, WithContext
from app.web.public import RESIDENTS_WORDS, STAFF_STATE, Words, error_page, staff_frame


@dataclass(frozen=True)
class Staff(WithContext):
    """The agent logged in on this browser, with what a staff page works with: the form
    token of their session, the request and its context (the one session, the time)."""

    agent: Agent
    actor: Actor
    csrf: str
    request: Request[Any, Any, State]


async def staff_of(request: Request[Any, Any, State], context: Context) -> Staff:
    """The agent logged in on this browser; unauthenticated visits go to the login page."""
    settings = context.settings
    staff_session = await session_of(request, context.session, settings, context.now)
    if staff_session is None:
        raise Unauthorized("Log in first.")
    agent = await accounts.active_agent(context.session, staff_session.agent_id)
    if agent is None:
        raise Unauthorized("This account is disabled.")
    if not accounts.still_valid(agent, staff_session.started_at):
        raise Unauthorized("This account's access has changed: log in again.")
    staff = Staff(
        context=context,
        agent=agent,
        actor=Actor.of(agent),
        csrf=sessions.csrf_token(staff_session, settings),
        request=request,
    )
    # An error page of this request shows who is logged in, as the staff's pages do.
    request.scope.setdefault("state", {})[STAFF_STATE] = staff
    return staff


STAFF_WORDS: Words = {
    **RESIDENTS_WORDS,
    403: (N_("Accès refusé"), N_("Votre compte ne permet pas d'ouvrir cette page.")),
    404: (N_("Introuvable"), N_("Cette page n'existe pas, ou plus.")),
    429: (N_("Trop de tentatives"), N_("Attendez un instant avant de réessayer.")),
}
FORM_EXPIRED: Words = {
    **STAFF_WORDS,
    403: (
        N_("Formulaire expiré"),
        N_("Ce formulaire a expiré : rechargez la page, puis recommencez."),
    ),
}


def on_error(request: Request[Any, Any, State], exc: Exception) -> Response[Any]:
    if isinstance(exc, Unauthorized):
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        response: Response[Any] = Redirect(f"/connexion?suite={target}", status_code=303)
        response.delete_cookie(sessions.COOKIE, path="/")
        return response
    words = FORM_EXPIRED if getattr(exc, "code", "") == "form_expired" else STAFF_WORDS
    return error_page(exc, words, frame=staff_frame(request))


def back(path: str, **query: str) -> Redirect:
    suffix = f"?{urlencode(query)}" if query else ""
    return Redirect(f"{path}{suffix}", status_code=303)


class FormRefusals:
    """Around the service call of a posted form: the service's refusal (a DomainError)
    goes into the form's `errors`, by field, as `explain` words it, and no further, so that
    the form can be shown again; a refusal whose status is in `passing` still ends on the
    error page. What follows a successful call stays inside the block:

        with FormRefusals(errors, explain):
            await service.change(...)
            return redirect_with_confirmation
        return form_again_with(errors)
    """

    def __init__(
        self,
        errors: dict[str, str],
        explain: Callable[[DomainError], Mapping[str, str]],
        *,
        passing: Collection[int] = (403, 404),
    ) -> None:
        self.errors = errors
        self.explain = explain
        self.passing = passing

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> bool:
        if not isinstance(error, DomainError) or error.status in self.passing:
            return False
        for field, text in self.explain(error).items():
            self.errors.setdefault(field, text)
        return True


async def provide_staff(
    request: Request[Any, Any, State], context: NamedDependency[Context]
) -> Staff:
    return await staff_of(request, context)


# Who may do a thing at a site: the same roles everywhere, or the site's own (its settings).
Roles = frozenset[str] | Callable[[Site], frozenset[str]]


async def site_for(session: AsyncSession, staff: Staff, slug: str, roles: Roles) -> Site:
    """The site at `slug`, if `staff` may work there in one of `roles`."""
    site = await get_site(session, slug)
    accounts.authorize(staff.actor, roles=roles(site) if callable(roles) else roles, site=site)
    return site


async def site_form(staff: Staff, slug: str, roles: Roles) -> tuple[Site, FormMultiDict]:
    """A form posted to a page of the site at `slug`, if `staff` may work there in one of
    `roles`: the site, and the form."""
    site = await site_for(staff.session, staff, slug, roles)
    return site, await staff.request.form()


async def our_link(settings: Settings, path: str, title: str) -> tuple[str, Markup]:
    """The full address of our page at `path`, and that address as a QR code: an inline
    SVG titled `title`, drawn off the event loop."""
    address = f"{settings.base_url}{path}"
    svg = await anyio.to_thread.run_sync(
        lambda: segno.make(address, error="m").svg_inline(scale=4, omitsize=True, title=title)
    )
    return address, Markup(svg)  # noqa: S704 (segno's own SVG, from our own address)


class StaffController(Controller):
    """What the staff's pages have in common: the agent logged in is `staff`, and what goes
    wrong ends on a page in the staff's frame, in their language (or at the login page)."""

    include_in_schema = False
    guards = [forms_from_our_pages]
    exception_handlers = {DomainError: on_error, HTTPException: on_error}
    dependencies = {"staff": Provide(provide_staff)}
