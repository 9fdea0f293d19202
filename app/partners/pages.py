"""The partners' page: a social worker books for a person without the API.

They open a session with the partner's key (posted in the form's body, never in an
address), then see the partner's mairies, book for a person through the same booking
command as the API (channel "partner": the person gets the confirmation, the partner a
copy), see the appointments the partner referred that are still to come, and log out.
The session has its own cookie and CSRF token; revoking the key ends it at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from sqlalchemy import select

from app import bounds
from app.accounts.actors import Actor
from app.accounts.cookies import private_cookie
from app.booking import commands as booking
from app.booking.appointment_rows import appointment_summary
from app.booking.contact_form import ContactForm, reminded_by
from app.booking.models import Appointment
from app.booking.pages import free_slots_of_day, needs_of
from app.booking.queries import SlotRefused, appointment_by_reference
from app.booking.slots import Refusal
from app.errors import DomainError, Forbidden, Unauthorized
from app.i18n import N_, formats, gettext
from app.i18n.texts import ESCALATION_STATUSES as STATUS_LABELS
from app.i18n.texts import label, refusal_for_someone
from app.partners import commands, sessions
from app.partners.models import Partner
from app.partners.queries import requests_to, upcoming_referrals
from app.security import forms_from_our_pages
from app.sites.models import Site
from app.sites.schemas import Slug
from app.sites.service import get_site, list_needs, list_services
from app.throttle import Limits, client_key
from app.visits import service as visits
from app.web.context import Context, WithContext
from app.web.public import PARTNER_FRAME, RESIDENTS_WORDS, Words, error_page

HOME = "/partenaires"
MAX_KEY = 200  # a longer field holds no key: refused without reading it further
PARTNER_WORDS: Words = {
    **RESIDENTS_WORDS,
    403: (N_("Accès refusé"), N_("Votre clé de partenaire ne permet pas d'ouvrir cette page.")),
}
FORM_EXPIRED: Words = {
    **PARTNER_WORDS,
    403: (
        N_("Formulaire expiré"),
        N_("Ce formulaire a expiré : rechargez la page, puis recommencez."),
    ),
}


@dataclass(frozen=True)
class PartnerVisit(WithContext):
    """The partner logged in on this browser, with its actor, the form token of its
    session, the request and its context."""

    partner: Partner
    actor: Actor
    session_id: str
    csrf: str
    request: Request[Any, Any, State]


async def opened(request: Request[Any, Any, State], context: Context) -> sessions.Opened | None:
    """The open session of this browser's cookie, if any (its activity recorded)."""
    cookie = request.cookies.get(sessions.COOKIE, "")
    found = await sessions.find(context.session, cookie, context.settings, context.now)
    if found is not None:
        await sessions.touch(context.session, found, context.now)
    return found


async def provide_partner_visit(
    request: Request[Any, Any, State], context: NamedDependency[Context]
) -> PartnerVisit:
    """The partner logged in; to the login form without a session (or once it ended). A
    form posted without its session's token is refused (403)."""
    found = await opened(request, context)
    if found is None:
        raise Unauthorized("Log in with the partner's key first.")
    settings = context.settings
    if request.method == "POST":
        presented = str((await request.form()).get(sessions.CSRF_FIELD, ""))
        if not presented or not sessions.csrf_matches(found.session_id, settings, presented):
            raise Forbidden(
                "This form has expired or did not come from guichet: reload the page.",
                code="form_expired",
            )
    return PartnerVisit(
        context=context,
        partner=found.partner,
        actor=Actor.of_partner(found.partner),
        session_id=found.session_id,
        csrf=sessions.csrf_token(found.session_id, settings),
        request=request,
    )


def on_error(request: Request[Any, Any, State], exc: Exception) -> Response[Any]:
    """No session: the login form (the cookie forgotten); anything else: a page saying
    what went wrong, in the partners' frame (its language switch and its way back lead
    to their pages, not the residents')."""
    if isinstance(exc, Unauthorized):
        response: Response[Any] = Redirect(HOME, status_code=303)
        response.delete_cookie(sessions.COOKIE, path=sessions.COOKIE_PATH)
        return response
    words = FORM_EXPIRED if getattr(exc, "code", "") == "form_expired" else PARTNER_WORDS
    return error_page(exc, words, frame=PARTNER_FRAME)


def session_cookie(value: str, context: Context, *, max_age: int | None = None) -> Cookie:
    settings = context.settings
    max_age = settings.session_max_hours * 3600 if max_age is None else max_age
    return private_cookie(
        sessions.COOKIE, value, settings, max_age=max_age, path=sessions.COOKIE_PATH
    )


def _login_page(error: str | None = None, status: int = 200) -> Template:
    return Template("partner_login.html", context={"error": error}, status_code=status)


class PartnerController(Controller):
    """The partners' pages: out of the API's document, forms only from our pages, errors
    in the partners' frame, and the partner logged in as `partner_visit`."""

    include_in_schema = False
    guards = [forms_from_our_pages]
    exception_handlers = {DomainError: on_error, HTTPException: on_error}
    dependencies = {"partner_visit": Provide(provide_partner_visit)}


class PartnerPages(PartnerController):
    path = HOME

    @get("/")
    async def home(
        self, request: Request[Any, Any, State], context: NamedDependency[Context]
    ) -> Template:
        """The login form, or the partner's mairies and referrals."""
        found = await opened(request, context)
        if found is None:
            return _login_page()
        page = await _home_context(context, found, request.query_params)
        return Template("partner_home.html", context=page)

    @post("/connexion")
    async def log_in(
        self, request: Request[Any, Any, State], context: NamedDependency[Context]
    ) -> Template | Redirect:
        # Keys cannot be guessed, but each try costs a look in the database: as few tries
        # from one address as staff logins have.
        limits: Limits = request.app.state.limits
        limits.login_per_address.check(
            client_key(request), "Too many login attempts. Wait before trying again."
        )
        form = await request.form()
        key = str(form.get("cle", "")).strip()
        known = key and len(key) <= MAX_KEY
        partner = await commands.partner_of_key(context.session, key) if known else None
        if partner is None:
            error = gettext(
                "Cette clé n'ouvre aucun compte partenaire : vérifiez-la, ou demandez-en "
                "une nouvelle à la Ville si elle a été révoquée."
            )
            return _login_page(error, 401)
        session_id = await sessions.start(
            context.session, partner.id, context.settings, context.now
        )
        response = Redirect(HOME, status_code=303)
        response.set_cookie(session_cookie(session_id, context))
        return response

    @post("/deconnexion")
    async def log_out(self, partner_visit: NamedDependency[PartnerVisit]) -> Redirect:
        await sessions.end(partner_visit.session, partner_visit.session_id)
        response = Redirect(HOME, status_code=303)
        response.delete_cookie(sessions.COOKIE, path=sessions.COOKIE_PATH)
        return response

    @get("/mairies/{slug:str}/rendez-vous")
    async def booking_form(
        self, slug: Slug, partner_visit: NamedDependency[PartnerVisit]
    ) -> Template:
        site = await _site_of(partner_visit, slug)
        query = partner_visit.request.query_params
        page = await _booking_context(
            partner_visit,
            site,
            code=query.get("service", "")[:40],
            needs=needs_of(query.getall("besoins", [])),
            day_text=query.get("jour", ""),
        )
        return Template("partner_booking.html", context=page)

    @post("/mairies/{slug:str}/rendez-vous")
    async def book(
        self, slug: Slug, partner_visit: NamedDependency[PartnerVisit]
    ) -> Template | Redirect:
        site = await _site_of(partner_visit, slug)
        form = await partner_visit.request.form()
        code = str(form.get("service", ""))[:40]
        needs = needs_of(form.getall("besoins", []))
        day_text = str(form.get("jour", ""))
        start = bounds.parse_datetime(str(form.get("debut", "")))
        entered = ContactForm.someone(form)
        try:
            if start is None:
                raise SlotRefused(Refusal.OFF_GRID)
            request = entered.request(
                site,
                code,
                needs,
                start,
                channel="partner",
                partner_id=partner_visit.partner.id,
            )
            appointment = await booking.book(partner_visit.session, request, now=partner_visit.now)
        except DomainError as refused:
            if refused.status == 403:
                raise
            page = await _booking_context(
                partner_visit, site, code=code, needs=needs, day_text=day_text
            )
            # A démarche or need that is none is said as on the form (`free_slots_of_day`).
            error = page["error"] or refusal_for_someone(refused.code)
            page.update(error=error, entered=entered, start=form.get("debut"))
            return Template("partner_booking.html", context=page, status_code=refused.status)
        return Redirect(f"{HOME}?rdv={appointment.reference}&mairie={site.slug}", status_code=303)


async def _site_of(visit: PartnerVisit, slug: str) -> Site:
    """The mairie at `slug`, if the partner books there (403 otherwise)."""
    site = await get_site(visit.session, slug)
    visit.actor.refers_at(site)
    return site


def _referral_row(appointment: Appointment) -> dict[str, str]:
    return {**appointment_summary(appointment), "name": appointment.name}


async def _home_context(
    context: Context, found: sessions.Opened, query: Mapping[str, str]
) -> dict[str, Any]:
    """The partner's mairies, the appointments it referred still to come, and the one just
    booked (`rdv`, at `mairie`), if it is the partner's."""
    session, partner = context.session, found.partner
    referrals = await upcoming_referrals(session, partner.id, context.now)
    booked = None
    reference, slug = query.get("rdv", "")[:16], query.get("mairie", "")[:40]
    site = next((site for site in partner.sites if site.slug == slug), None)
    if reference and site is not None:
        appointment = await appointment_by_reference(session, site, reference)
        if appointment is not None and appointment.partner_id == partner.id:
            booked = {**_referral_row(appointment), **reminded_by(appointment)}
    return {
        "partner": partner,
        "csrf": sessions.csrf_token(found.session_id, context.settings),
        "sites": partner.sites,
        "referrals": [_referral_row(appointment) for appointment in referrals],
        "booked": booked,
        "requests": await _request_rows(context, partner.id),
    }


async def _request_rows(context: Context, partner_id: int) -> list[dict[str, Any]]:
    """The requests sent on to the partner's account, as its page lists them."""
    session = context.session
    found = await requests_to(session, partner_id)
    sites = {
        site.id: site
        for site in await session.scalars(
            select(Site).where(Site.id.in_({escalation.site_id for escalation in found}))
        )
    }
    rows = []
    for escalation in found:
        site = sites[escalation.site_id]
        received = escalation.created_at.astimezone(ZoneInfo(site.timezone)).date()
        rows.append(
            {
                "reference": escalation.reference,
                "site": site.name,
                "received": formats.day(received),
                "status": label(STATUS_LABELS, escalation.status),
                "overdue": visits.overdue(escalation, context.now),
            }
        )
    return rows


async def _booking_context(
    visit: PartnerVisit, site: Site, *, code: str, needs: tuple[str, ...], day_text: str
) -> dict[str, Any]:
    """The booking form at `site`: the démarche and needs chosen, the free slots of the day
    asked (today at the earliest), and the person's details (none yet)."""
    services = await list_services(visit.session)
    known = {service.code for service in services}
    chosen = code if code in known else ""
    return {
        "partner": visit.partner,
        "csrf": visit.csrf,
        "site": site,
        "services": services,
        "needs": await list_needs(visit.session),
        "code": chosen,
        "chosen_needs": list(needs),
        "error": None,
        **await free_slots_of_day(visit.session, site, code, needs, day_text, visit.now),
        "entered": None,
        "start": None,
    }
