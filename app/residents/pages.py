"""A resident's space (`/mon-espace`) and signing in to it with the City's OpenID Connect
provider: going to the provider, coming back from it, signing out.

Signing in is optional and never needed to book. Without `GUICHET_OIDC_ISSUER` every
address here answers 404 (`sign_in_is_on`), and no page offers it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.cookies import private_cookie
from app.config import Settings
from app.db import writing
from app.errors import DomainError, Forbidden, Unauthorized
from app.i18n import N_, gettext
from app.residents import erasure, linking, oidc, sessions, space
from app.residents.models import Resident
from app.residents.oidc_providers import Provider
from app.security import forms_from_our_pages
from app.web.context import Context
from app.web.public import RESIDENTS_WORDS, Words, error_page

HOME = "/mon-espace"
RETURN_PATH = f"{HOME}/connexion/retour"
log = logging.getLogger("guichet")

RESIDENT_WORDS: Words = {
    **RESIDENTS_WORDS,
    403: (
        N_("Formulaire expiré"),
        N_("Ce formulaire a expiré : rechargez la page, puis recommencez."),
    ),
}
# Why a sign-in did not open a session, as its page says it (the reasons of
# `oidc.SignInRefused`; any other: the answer could not be checked).
REFUSALS: dict[str, tuple[int, str, str]] = {
    "flow": (
        400,
        N_("Connexion expirée"),
        N_(
            "Cette connexion a expiré ou n'a pas été commencée sur cet appareil. "
            "Recommencez depuis le bouton « Se connecter »."
        ),
    ),
    "denied": (
        400,
        N_("Connexion annulée"),
        N_(
            "La connexion a été annulée : vous n'êtes pas connecté. Vous pouvez prendre "
            "rendez-vous sans vous connecter."
        ),
    ),
    "unavailable": (
        503,
        N_("Connexion momentanément impossible"),
        N_(
            "Le service de connexion de la Ville ne répond pas. Réessayez dans quelques "
            "minutes ; vous pouvez prendre rendez-vous sans vous connecter."
        ),
    ),
}
NOT_CHECKED = (
    400,
    N_("Connexion refusée"),
    N_(
        "La réponse du service de connexion n'a pas pu être vérifiée : vous n'êtes pas "
        "connecté. Recommencez depuis le bouton « Se connecter »."
    ),
)


PROVIDER = Provider("", RETURN_PATH)
# Guard: without the provider's settings, these pages do not exist.
sign_in_is_on = PROVIDER.guard
client_of = PROVIDER.client


def on_error(request: Request[Any, Any, State], exc: Exception) -> Response[Any]:
    """Signed out: to the space, which offers to sign in; anything else: a page saying
    what went wrong."""
    if isinstance(exc, Unauthorized):
        return Redirect(HOME, status_code=303)
    return error_page(exc, RESIDENT_WORDS)


def session_cookie(value: str, settings: Settings, *, max_age: int | None = None) -> Cookie:
    """The resident's session cookie, for as long as a session may last unless told."""
    max_age = settings.resident_session_max_hours * 3600 if max_age is None else max_age
    return private_cookie(sessions.COOKIE, value, settings, max_age=max_age)


def flow_cookie(value: str, settings: Settings, *, max_age: int) -> Cookie:
    """The sign-in under way. `lax`: the provider sends the browser back by a plain link,
    which carries it."""
    return private_cookie(
        sessions.FLOW_COOKIE, value, settings, path=sessions.FLOW_PATH, max_age=max_age
    )


async def opened(request: Request[Any, Any, State], context: Context) -> sessions.Opened | None:
    """The open session of this browser's cookie, if any (its activity recorded)."""
    cookie = request.cookies.get(sessions.COOKIE, "")
    settings = context.settings
    found = await sessions.find(context.session, cookie, settings, context.now)
    if found is not None:
        idle = settings.resident_session_idle_minutes
        await sessions.touch(context.session, found, context.now, idle)
    return found


async def provide_signed_in(
    request: Request[Any, Any, State], context: NamedDependency[Context]
) -> sessions.Opened:
    """The open session of the pages that need one; signed out, to the space (`on_error`)."""
    found = await opened(request, context)
    if found is None:
        raise Unauthorized("Sign in first.")
    return found


def _refused(reason: str, settings: Settings) -> Template:
    status, title, text = REFUSALS.get(reason, NOT_CHECKED)
    response = Template(
        "resident_refused.html",
        context={
            "title": gettext(title),
            "text": gettext(text),
            "retry": reason != "unavailable",
        },
        status_code=status,
    )
    response.delete_cookie(sessions.FLOW_COOKIE, path=sessions.FLOW_PATH)
    return response


async def _remember(context: Context, identity: oidc.Identity, now: datetime) -> Resident:
    """The resident the provider vouched for, created at their first sign-in, with what
    the provider says of them today. Two first sign-ins of one person at once: the second
    finds the row the first made."""
    try:
        return await _write_resident(context.session, identity, now)
    except IntegrityError:
        return await _write_resident(context.session, identity, now)


async def _write_resident(
    session: AsyncSession, identity: oidc.Identity, now: datetime
) -> Resident:
    async with writing(session):
        resident = await session.scalar(
            select(Resident).where(
                Resident.issuer == identity.issuer, Resident.subject == identity.subject
            )
        )
        if resident is None:
            resident = Resident(issuer=identity.issuer, subject=identity.subject, created_at=now)
            session.add(resident)
        resident.email = identity.email
        resident.email_verified = identity.email_verified
        resident.phone = identity.phone
        resident.phone_verified = identity.phone_verified
        resident.name = identity.name
        resident.last_seen_at = now
        await session.flush()
    return resident


async def _checked_form(
    request: Request[Any, Any, State], found: sessions.Opened, context: Context
) -> Any:
    """The form posted, once it carries its session's CSRF token (403 otherwise)."""
    form = await request.form()
    presented = str(form.get(sessions.CSRF_FIELD, ""))
    if not presented or not sessions.csrf_matches(found.session_id, context.settings, presented):
        raise Forbidden(
            "This form has expired or did not come from guichet: reload the page.",
            code="form_expired",
        )
    return form


def _details_page(
    found: sessions.Opened,
    context: Context,
    details: space.Details,
    errors: dict[str, str] | None = None,
) -> Template:
    return Template(
        "resident_details.html",
        context={
            "entered": details,
            "errors": errors or {},
            "csrf": sessions.csrf_token(found.session_id, context.settings),
        },
        status_code=422 if errors else 200,
    )


class ResidentPages(Controller):
    path = HOME
    include_in_schema = False
    guards = [sign_in_is_on, forms_from_our_pages]
    dependencies = {"found": Provide(provide_signed_in)}
    exception_handlers = {DomainError: on_error, HTTPException: on_error}

    @get("/")
    async def space(
        self, request: Request[Any, Any, State], context: NamedDependency[Context]
    ) -> Template:
        """The resident's space; signed out, the page that offers to sign in."""
        found = await opened(request, context)
        # What was just done; after the provider's logout, as the `state` it sends back.
        done = request.query_params.get("fait") or request.query_params.get("state", "")
        if found is None:
            response = Template("resident_welcome.html", context={"deleted": done == "suppression"})
            if sessions.COOKIE in request.cookies:
                response.delete_cookie(sessions.COOKIE, path="/")
            return response
        resident_id, now = found.resident.id, context.now
        upcoming, past = await space.appointments_of(context.session, resident_id, now)
        return Template(
            "resident_space.html",
            context={
                "resident": found.resident,
                "details": space.Details.of(found.resident),
                "upcoming": [space.appointment_row(appointment) for appointment in upcoming],
                "past": [space.appointment_row(appointment) for appointment in past],
                "tickets": await space.tickets_today(context.session, resident_id, now),
                "requests": await space.requests_sent_on(context.session, resident_id),
                "saved": done == "coordonnees",
                "csrf": sessions.csrf_token(found.session_id, context.settings),
            },
        )

    @get("/coordonnees")
    async def details_form(
        self, context: NamedDependency[Context], found: NamedDependency[sessions.Opened]
    ) -> Template:
        """The contact details and reminders the resident's bookings start from."""
        return _details_page(found, context, space.Details.of(found.resident))

    @post("/coordonnees")
    async def save_details(
        self,
        request: Request[Any, Any, State],
        context: NamedDependency[Context],
        found: NamedDependency[sessions.Opened],
    ) -> Template | Redirect:
        """Keep the details posted, or show them again with what is wrong (422)."""
        form = await _checked_form(request, found, context)
        details = space.Details.posted(form)
        errors = details.errors()
        if errors:
            return _details_page(found, context, details, errors)
        await space.save(context.session, found.resident.id, details)
        return Redirect(f"{HOME}?fait=coordonnees", status_code=303)

    @get("/suppression")
    async def confirm_deletion(
        self, context: NamedDependency[Context], found: NamedDependency[sessions.Opened]
    ) -> Template:
        """What deleting the space does, and the button that does it."""
        upcoming, _past = await space.appointments_of(
            context.session, found.resident.id, context.now
        )
        return Template(
            "resident_delete.html",
            context={
                "upcoming": len(upcoming),
                "csrf": sessions.csrf_token(found.session_id, context.settings),
            },
        )

    @post("/suppression")
    async def delete_space(
        self,
        request: Request[Any, Any, State],
        context: NamedDependency[Context],
        found: NamedDependency[sessions.Opened],
    ) -> Redirect:
        """The resident's data blanked, their space and sessions gone, the journal told
        (`erasure.erase`); then the provider's session ended too, as at a sign-out, and
        the page saying so (the provider gives back `state`)."""
        await _checked_form(request, found, context)
        id_token = await sessions.end(context.session, found.session_id)
        outbox = Path(context.settings.outbox_dir)
        await erasure.erase(context.session, found.resident.id, context.now, outbox=outbox)
        target = None
        if id_token:
            back_to = f"{context.settings.base_url}{HOME}"
            target = await oidc.logout_url(
                client_of(context.settings), id_token, back_to, state="suppression"
            )
        response = Redirect(target or f"{HOME}?fait=suppression", status_code=303)
        response.delete_cookie(sessions.COOKIE, path="/")
        return response

    @get("/connexion")
    async def go_to_provider(self, context: NamedDependency[Context]) -> Response[Any]:
        """Off to the provider's sign-in, with a new flow in this browser."""
        settings = context.settings
        try:
            url, flow = await oidc.authorization_url(client_of(settings))
        except oidc.SignInRefused as refused:
            log.warning("resident sign-in not started", extra={"reason": str(refused)})
            return _refused(refused.reason, settings)
        response = Redirect(url, status_code=303)
        value = sessions.encode_flow(flow, settings, context.now)
        response.set_cookie(flow_cookie(value, settings, max_age=sessions.FLOW_MINUTES * 60))
        return response

    @get("/connexion/retour")
    async def back_from_provider(
        self, request: Request[Any, Any, State], context: NamedDependency[Context]
    ) -> Response[Any]:
        """The provider's answer: the resident signed in (their session opened), or a page
        saying why not. The flow is used once, whatever happens."""
        settings, now = context.settings, context.now
        flow = sessions.decode_flow(request.cookies.get(sessions.FLOW_COOKIE, ""), settings, now)
        answer = {key: value for key, value in request.query_params.items()}
        try:
            if flow is None:
                raise oidc.SignInRefused("flow")
            identity = await oidc.finish(client_of(settings), flow, answer, now)
        except oidc.SignInRefused as refused:
            log.warning("resident sign-in refused", extra={"reason": str(refused)})
            return _refused(refused.reason, settings)
        previous = request.cookies.get(sessions.COOKIE, "")
        if previous and len(previous) <= sessions.LONGEST_COOKIE:
            await sessions.end(context.session, previous)
        resident = await _remember(context, identity, now)
        # The bookings made by link with what the provider verified are theirs from now.
        await linking.attach(context.session, resident)
        session_id = await sessions.start(
            context.session, resident.id, settings, now, identity.id_token
        )
        response = Redirect(HOME, status_code=303)
        response.set_cookie(session_cookie(session_id, settings))
        response.delete_cookie(sessions.FLOW_COOKIE, path=sessions.FLOW_PATH)
        return response

    @post("/deconnexion")
    async def sign_out(
        self, request: Request[Any, Any, State], context: NamedDependency[Context]
    ) -> Redirect:
        """The session ends on the server, and its cookie goes; then the provider's own
        session, when it names a place for that, so that the next person at a shared
        computer is not signed in with one click. A form without its session's token is
        refused (403)."""
        found = await opened(request, context)
        target = None
        if found is not None:
            await _checked_form(request, found, context)
            id_token = await sessions.end(context.session, found.session_id)
            if id_token:
                back_to = f"{context.settings.base_url}{HOME}"
                target = await oidc.logout_url(client_of(context.settings), id_token, back_to)
        response = Redirect(target or HOME, status_code=303)
        response.delete_cookie(sessions.COOKIE, path="/")
        return response
