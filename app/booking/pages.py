"""The booking pages: démarche and needs, a slot, then contact details. Plain forms: no
JavaScript needed. The private page of the appointment booked is in `appointment_pages`;
`BookingPages` serves both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Router, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import bounds
from app.booking import commands, contacts
from app.booking.appointment_pages import AppointmentPages
from app.booking.contact_form import ContactForm, contact_errors
from app.booking.finders import slot_finder
from app.booking.models import Appointment, AppointmentStatus
from app.booking.queries import (
    SlotRefused,
    free_slots,
    offer_alternatives,
    requirement_of,
)
from app.booking.slot_views import (
    asked,
    choice,
    day_asked,
    slot_choices,
    slot_context,
)
from app.booking.slots import Refusal
from app.booking.throttling import throttle_booking, throttle_search
from app.db import token_digest
from app.errors import BadRequest, DomainError, NotFound
from app.i18n import N_, formats, gettext
from app.i18n.texts import refusal
from app.residents import sessions as residents
from app.residents import space
from app.sites.models import Service, Site
from app.sites.schemas import Slug
from app.sites.service import (
    booking_horizon,
    get_site,
    list_needs,
    list_services,
    local_today,
    site_calendar,
)
from app.throttle import client_key
from app.web.public import PublicController, Visitor

MAX_NEEDS = 10
# Refusals of the person, not of the request: the form is shown again with them.
THE_PERSONS_LIMITS = ("person_busy", "too_many_bookings", "too_many_attempts", "address_day_full")
# How long after a booking the same form, sent again from the same browser, leads to it:
# the browser that booked holds the appointment's link in this cookie for that long.
SECOND_TAP = timedelta(minutes=10)
JUST_BOOKED = "guichet_rdv_pris"


def needs_of(values: list[Any]) -> tuple[str, ...]:
    """The needs ticked (`besoins`), from the query or the form."""
    return tuple(str(value) for value in values if value)[:MAX_NEEDS]


UNKNOWN_CHOICE = N_(
    "Cette démarche ou l'un de ces besoins n'est pas proposé ici : choisissez-les à nouveau."
)


async def free_slots_of_day(
    session: AsyncSession,
    site: Site,
    code: str,
    needs: tuple[str, ...],
    day_text: str,
    now: datetime,
) -> dict[str, Any]:
    """The free slots at `site` for the démarche `code` and `needs`, on the day asked, as
    the forms booking for someone else list them, with the day after for the link to it;
    no slot without a démarche. Any day written YYYY-MM-DD is taken, as on the residents'
    slots page: one already past as today, one past the last day open for booking as
    that day, which the page then says (`beyond_horizon`); that day has no day after it
    and says up to when bookings are open (`horizon_end`). Text that is no day is a 400
    page. A démarche or need that is none (any more) is the form again, chosen afresh,
    saying so (`code`, `chosen_needs` and `error` then replace the page's)."""
    today = local_today(site, now)
    horizon = booking_horizon(site, now)
    last_open = horizon.date()
    asked_day = day_asked(day_text, today)
    # Days are compared, never counted from: the one asked may be 9999-12-31.
    beyond_horizon = asked_day > last_open
    day = max(last_open, today) if beyond_horizon else asked_day
    slots: list[dict[str, str]] = []
    chosen: dict[str, Any] = {}
    if code:
        try:
            found = await free_slots(session, site, code, needs, day, day, now)
        except (NotFound, BadRequest):  # an address typed, or kept from before a change
            found = []
            chosen = {"code": "", "chosen_needs": [], "error": gettext(UNKNOWN_CHOICE)}
        tz = ZoneInfo(site.timezone)
        slots = [
            {
                "value": slot.start.astimezone(tz).isoformat(),
                "label": formats.clock(slot.start.astimezone(tz)),
            }
            for slot in found
        ]
    # A day with no slot may be one the mairie is closed (a Sunday, a holiday, a closure):
    # said as such, with why where known, rather than as a day fully booked.
    closed = None
    if code and not slots:
        opening = (await site_calendar(session, site, day, day)).day(day)
        closed = None if opening.is_open else opening.note
    last_day = day >= last_open
    return {
        "closed": closed is not None,
        "closed_why": closed or "",
        "day": day.isoformat(),
        "day_label": formats.day(day),
        "first_day": today.isoformat(),
        "last_day": max(last_open, today).isoformat(),
        "next_day": None if last_day else (day + timedelta(days=1)).isoformat(),
        "slots": slots,
        "beyond_horizon": beyond_horizon,
        "horizon_days": site.booking_horizon_days,
        "horizon_end": formats.moment(horizon) if last_day else None,
        **chosen,
    }


async def _chosen(visitor: Visitor, slug: str) -> tuple[Site, str, tuple[str, ...]]:
    """The site at `slug`, and the démarche (`service`) and needs chosen in the query."""
    site = await get_site(visitor.session, slug)
    query = visitor.request.query_params
    return site, query.get("service", ""), needs_of(query.getall("besoins", []))


def _back_to_start(site: Site) -> Redirect:
    """To the choice of a démarche, for a step reached without one."""
    return Redirect(f"/mairies/{site.slug}/rendez-vous?erreur=demarche", status_code=303)


def _back_to_slots(site: Site, code: str, needs: tuple[str, ...]) -> Redirect:
    """To the choice of a slot for the démarche `code`, for a step reached without a slot
    (or with a start that is not a date and time)."""
    query = urlencode([("service", code), *(("besoins", need) for need in needs)])
    return Redirect(f"/mairies/{site.slug}/rendez-vous/creneaux?{query}", status_code=303)


@dataclass(frozen=True)
class ChosenSlot:
    """What the person chose before their contact details: the mairie, the démarche
    `code`, the needs and the slot `start`."""

    site: Site
    code: str
    needs: tuple[str, ...]
    start: datetime


class BookingFlowPages(PublicController):
    @get("/mairies/{slug:str}/rendez-vous")
    async def choose_service(self, slug: Slug, visitor: NamedDependency[Visitor]) -> Template:
        session = visitor.session
        site = await get_site(session, slug)
        error = visitor.request.query_params.get("erreur")
        services = await list_services(session)
        return Template(
            "booking_service.html",
            context={
                "site": site,
                "services": [_service_view(item) for item in services],
                "needs": await list_needs(session),
                "error": gettext("Choisissez une démarche.") if error == "demarche" else None,
            },
            status_code=400 if error else 200,
        )

    @get("/mairies/{slug:str}/rendez-vous/creneaux")
    async def choose_slot(
        self,
        slug: Slug,
        visitor: NamedDependency[Visitor],
    ) -> Template | Redirect:
        site, code, needs = await _chosen(visitor, slug)
        if not code:
            return _back_to_start(site)
        throttle_search(visitor.request)
        wanted = asked(visitor.request, site, visitor.now)
        page = await slot_context(visitor.context, site, code, needs, wanted)
        return Template("booking_slots.html", context=page)

    @get("/mairies/{slug:str}/rendez-vous/coordonnees")
    async def contact_form(
        self,
        slug: Slug,
        visitor: NamedDependency[Visitor],
    ) -> Template | Redirect:
        site, code, needs = await _chosen(visitor, slug)
        start = bounds.parse_datetime(visitor.request.query_params.get("debut"))
        if not code:
            return _back_to_start(site)
        if start is None:
            return _back_to_slots(site, code, needs)
        chosen = ChosenSlot(site, code, needs, start)
        refused = await _unbookable(visitor, chosen)
        if refused is not None:
            return refused
        saved = await _saved_details(visitor)
        if saved is None:
            return await _contact_page(visitor.session, chosen)
        return await _contact_page(visitor.session, chosen, entered=saved, from_space=True)

    @post("/mairies/{slug:str}/rendez-vous/coordonnees")
    async def check_or_book(
        self,
        slug: Slug,
        visitor: NamedDependency[Visitor],
    ) -> Template | Redirect:
        """The contact details posted: shown again to correct them (`modifier`), with their
        mistakes, or as the summary to confirm; the booking, once confirmed (`confirmer`)."""
        session = visitor.session
        form = await visitor.request.form()
        confirmed = form.get("confirmer") == "oui"
        if confirmed:
            throttle_booking(visitor.request)
        site = await get_site(session, slug)
        code = str(form.get("service", ""))
        needs = needs_of(form.getall("besoins", []))
        start = bounds.parse_datetime(str(form.get("debut", "")))
        if not code:
            return _back_to_start(site)
        if start is None:
            return _back_to_slots(site, code, needs)
        entered = ContactForm.entered(form)
        chosen = ChosenSlot(site, code, needs, start)
        if not confirmed:
            refused = await _unbookable(visitor, chosen, entered=entered)
            if refused is not None:
                return refused
        if form.get("modifier") == "oui":
            return await _contact_page(session, chosen, entered=entered)
        errors = contact_errors(entered)
        if errors:
            return await _contact_page(session, chosen, 422, entered=entered, errors=errors)
        if not confirmed:
            return await _contact_page(
                session, chosen, template="booking_summary.html", entered=entered
            )
        return await _book(visitor, chosen, entered)


async def _saved_details(visitor: Visitor) -> ContactForm | None:
    """The form as a resident signed in finds it: filled with the details and reminders
    saved in their space (said once); None for anyone else."""
    cookie = visitor.request.cookies.get(residents.COOKIE, "")
    details = await space.booking_details(visitor.session, cookie, visitor.settings, visitor.now)
    if details is None:
        return None
    by_email, by_sms = space.reminders_for(details, details.email, details.telephone)
    return ContactForm(details.nom, details.email, details.telephone, by_email, by_sms)


async def _unbookable(visitor: Visitor, chosen: ChosenSlot, **shown: Any) -> Template | None:
    """The contact step saying why the slot chosen cannot be booked (taken meanwhile, not
    a slot of this démarche, past, closed…), with the nearest free slots; None when it can.
    Checked as each step is shown, so that nobody fills in a form for a slot that is not
    there; the booking checks again, under its lock."""
    session, site, start = visitor.session, chosen.site, chosen.start
    service, needs = await choice(session, chosen.code, chosen.needs)
    need = requirement_of(service, needs)
    day = start.astimezone(ZoneInfo(site.timezone)).date()
    finder = await slot_finder(session, site, need, day, day, visitor.now)
    outcome = finder.check(start)
    if not isinstance(outcome, Refusal):
        return None
    refused = SlotRefused(outcome)
    await offer_alternatives(session, refused, site, need, start, visitor.now)
    return await _contact_page(session, chosen, refused.status, refused=refused, **shown)


async def _book(visitor: Visitor, chosen: ChosenSlot, entered: ContactForm) -> Template | Redirect:
    """Book what the summary showed; its private page, or the contact step again saying why
    not (with the nearest free slots when the slot was taken meanwhile)."""
    session = visitor.session
    try:
        client = client_key(visitor.request)
        cookie = visitor.request.cookies.get(residents.COOKIE, "")
        resident = await residents.signed_in(session, cookie, visitor.settings, visitor.now)
        request = entered.request(
            chosen.site,
            chosen.code,
            chosen.needs,
            chosen.start,
            client=client,
            resident_id=resident,
        )
        just_booked = visitor.request.cookies.get(JUST_BOOKED, "")
        appointment = await _booked_just_now(
            session, chosen.site, request, visitor.now, just_booked
        )
        if appointment is None:
            appointment = await commands.book(
                session,
                request,
                now=visitor.now,
                per_address_per_day=visitor.settings.bookings_per_address_per_day,
            )
    except SlotRefused as refused:
        return await _contact_page(session, chosen, 409, entered=entered, refused=refused)
    except DomainError as error:
        if error.status >= 404 and error.code not in THE_PERSONS_LIMITS:
            raise
        errors = {"formulaire": refusal(error.code)}
        status = 409 if error.status == 409 else 422
        return await _contact_page(session, chosen, status, entered=entered, errors=errors)
    return Redirect(
        f"/rendez-vous/{appointment.token}?confirme=1",
        status_code=303,
        cookies=[
            Cookie(
                key=JUST_BOOKED,
                value=appointment.token,
                max_age=int(SECOND_TAP.total_seconds()),
                path="/mairies/",
                httponly=True,
                secure=visitor.request.url.scheme == "https",
                samesite="strict",
            )
        ],
    )


async def _booked_just_now(
    session: AsyncSession,
    site: Site,
    request: commands.BookingRequest,
    now: datetime,
    just_booked: str,
) -> Appointment | None:
    """The appointment this browser booked a moment ago (`just_booked`: its link, from the
    cookie set then) if it is this very request: a second tap on "Confirmer", or the form
    sent again, leads to it rather than to a second one. Never from the form alone: the same
    details sent by anyone else do not lead to someone's private page."""
    if not just_booked:
        return None
    who = request.contact
    same_person = []
    if who.email:
        same_person.append(Appointment.email_key == contacts.email_key(who.email))
    if who.phone:
        same_person.append(Appointment.phone == who.phone)
    found: Appointment | None = await session.scalar(
        select(Appointment)
        .where(
            Appointment.site_id == site.id,
            Appointment.service.has(code=request.service),
            Appointment.starts_at == request.start,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.name == who.name,
            Appointment.client_network == request.client,
            Appointment.booked_by_agent_id.is_(None),
            Appointment.created_at > now - SECOND_TAP,
            Appointment.token_digest == token_digest(just_booked),
            or_(*same_person),
        )
        .order_by(Appointment.id.desc())
        .limit(1)
    )
    if found is not None and sorted(found.needs) != sorted(request.needs):
        return None
    return found


# The residents' booking pages, registered as one: the flow above, the private page beside.
BookingPages = Router(path="/", route_handlers=[BookingFlowPages, AppointmentPages])


def _service_view(item: Service) -> dict[str, Any]:
    return {
        "code": item.code,
        "name": item.label,
        "name_lang": item.label_lang,
        "description": item.about,
        "description_lang": item.about_lang,
        "duration": formats.minutes(item.duration_minutes),
        "double": item.station_kind == "double",
    }


async def _contact_page(
    session: AsyncSession,
    chosen: ChosenSlot,
    status: int = 200,
    template: str = "booking_contact.html",
    refused: SlotRefused | None = None,
    **shown: Any,
) -> Template:
    """The step of the contact details for the slot `chosen`, with what the form `shown`
    again (what was entered, what is wrong) and, when the slot is `refused`, why, with the
    nearest free slots; or, as `template`, the summary to confirm."""
    site = chosen.site
    service, needs = await choice(session, chosen.code, chosen.needs)
    tz = ZoneInfo(site.timezone)
    local = chosen.start.astimezone(tz)
    page = {
        "site": site,
        "service": service,
        "needs": needs,
        "need_codes": [need.code for need in needs],
        "start": local.isoformat(),
        "when": formats.moment(local),
        "length": formats.minutes(requirement_of(service, needs).length_minutes),
        "slot_day": local.date().isoformat(),
        "reminder_when": formats.hours_before(site.reminder_hours),
        "entered": ContactForm(),
        "texts": False,
        "errors": {},
        "refusal": refusal(refused.code) if refused else None,
        "from_space": False,
        "alternatives": slot_choices(refused.alternatives, tz) if refused else [],
        **shown,
    }
    entered = page["entered"]
    page["texts"] = bool(entered.telephone) and contacts.is_mobile(entered.telephone)
    return Template(template, context=page, status_code=status)
