"""The booking pages: démarche and needs, a slot, contact details, then the private page
where one sees, moves or cancels the appointment, or, once the mairie called it off, takes
one of the nearest free slots in one step. Plain forms: no JavaScript needed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import bounds, french
from app.booking import contacts
from app.booking import service as booking
from app.booking.models import RELEASED, Appointment, AppointmentStatus
from app.booking.schemas import Token, ics_url
from app.booking.slots import Refusal, Slot
from app.config import Settings
from app.db import Database
from app.errors import BadRequest, Conflict, DomainError
from app.sites.models import Need, Service, Site
from app.sites.schemas import Slug
from app.sites.service import get_site, list_needs, list_services, local_today
from app.throttle import Limits, client_address
from app.visits import service as visits
from app.visits.staff_pages import usager_view
from app.web.public import PublicController

DAYS_SHOWN = 7
CALLED_OFF = AppointmentStatus.CALLED_OFF


@dataclass
class ContactForm:
    nom: str = ""
    email: str = ""
    telephone: str = ""
    rappels_email: bool = True
    rappels_sms: bool = False


@dataclass
class DaySlots:
    label: str
    slots: list[dict[str, str]]


def _throttle_search(request: Request[Any, Any, State]) -> None:
    limits: Limits = request.app.state.limits
    limits.availability.check(
        client_address(request), "Too many availability searches: wait a minute."
    )


def _throttle_change(request: Request[Any, Any, State]) -> None:
    limits: Limits = request.app.state.limits
    limits.booking.check(
        client_address(request), "Too many booking requests from your address: wait a minute."
    )


def _parse_day(value: str | None, default: date) -> date:
    """The first day shown (`du`): today without one; a 400 page for one that is not a
    day within bounds."""
    if not value:
        return default
    day = bounds.parse_date(value)
    if day is None:
        raise BadRequest("Dates are written YYYY-MM-DD.", code="date_invalid")
    return day


def _parse_start(value: str | None) -> datetime | None:
    return bounds.parse_datetime(value)


def _needs_of(request: Request[Any, Any, State]) -> tuple[str, ...]:
    return tuple(value for value in request.query_params.getall("besoins", []) if value)[:10]


def _week(slots: list[Slot], first: date, tz: ZoneInfo) -> list[DaySlots]:
    days: dict[date, list[dict[str, str]]] = {
        first + timedelta(days=offset): [] for offset in range(DAYS_SHOWN)
    }
    for slot in slots:
        local = slot.start.astimezone(tz)
        days.setdefault(local.date(), []).append(
            {"value": local.isoformat(), "label": french.clock(local)}
        )
    return [DaySlots(french.short_day(day).capitalize(), found) for day, found in days.items()]


def _alternatives(error: DomainError, tz: ZoneInfo) -> list[dict[str, str]]:
    slots = getattr(error, "alternatives", [])
    return [
        {
            "value": slot.start.astimezone(tz).isoformat(),
            "label": french.moment(slot.start.astimezone(tz)),
        }
        for slot in slots
    ]


class BookingPages(PublicController):
    @get("/mairies/{slug:str}/rendez-vous")
    async def choose_service(
        self, slug: Slug, session: NamedDependency[AsyncSession], request: Request[Any, Any, State]
    ) -> Template:
        site = await get_site(session, slug)
        return await self._service_page(session, site, request.query_params.get("erreur"))

    async def _service_page(self, session: AsyncSession, site: Site, error: str | None) -> Template:
        services = await list_services(session)
        needs = await list_needs(session)
        return Template(
            "booking_service.html",
            context={
                "site": site,
                "services": [_service_view(item) for item in services],
                "needs": needs,
                "error": "Choisissez une démarche." if error == "demarche" else None,
            },
            status_code=400 if error else 200,
        )

    @get("/mairies/{slug:str}/rendez-vous/creneaux")
    async def choose_slot(
        self,
        slug: Slug,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        now: NamedDependency[datetime],
    ) -> Template | Redirect:
        site = await get_site(session, slug)
        code = request.query_params.get("service", "")
        if not code:
            return Redirect(f"/mairies/{site.slug}/rendez-vous?erreur=demarche", status_code=303)
        _throttle_search(request)
        needs = _needs_of(request)
        first = _parse_day(request.query_params.get("du"), local_today(site, now))
        first = max(first, local_today(site, now))
        context = await _slot_context(session, site, code, needs, first, now)
        return Template("booking_slots.html", context=context)

    @get("/mairies/{slug:str}/rendez-vous/coordonnees")
    async def contact_form(
        self,
        slug: Slug,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
    ) -> Template | Redirect:
        site = await get_site(session, slug)
        code = request.query_params.get("service", "")
        needs = _needs_of(request)
        start = _parse_start(request.query_params.get("debut"))
        if not code or start is None:
            return Redirect(f"/mairies/{site.slug}/rendez-vous?erreur=demarche", status_code=303)
        context = await _contact_context(session, site, code, needs, start)
        return Template("booking_contact.html", context=context)

    @post("/mairies/{slug:str}/rendez-vous/coordonnees")
    async def book(
        self,
        slug: Slug,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
    ) -> Template | Redirect:
        _throttle_change(request)
        site = await get_site(session, slug)
        form = await request.form()
        code = str(form.get("service", ""))
        needs = tuple(str(value) for value in form.getall("besoins", []) if value)[:10]
        start = _parse_start(str(form.get("debut", "")))
        if not code or start is None:
            return Redirect(f"/mairies/{site.slug}/rendez-vous?erreur=demarche", status_code=303)
        entered = ContactForm(
            nom=str(form.get("nom", ""))[:200],
            email=str(form.get("email", ""))[:254].strip(),
            telephone=str(form.get("telephone", ""))[:40].strip(),
            rappels_email=form.get("rappels_email") == "oui",
            rappels_sms=form.get("rappels_sms") == "oui",
        )
        errors = _contact_errors(entered)
        if not errors:
            try:
                appointment = await booking.book(
                    db,
                    booking.BookingRequest(
                        site=site.slug,
                        service=code,
                        start=start,
                        contact=booking.contact(
                            entered.nom, entered.email or None, entered.telephone or None
                        ),
                        needs=needs,
                        reminders_by_email=entered.rappels_email,
                        reminders_by_sms=entered.rappels_sms,
                        client=contacts.client_network(client_address(request)),
                    ),
                    now=now,
                    per_address_per_day=settings.bookings_per_address_per_day,
                )
            except booking.SlotRefused as refused:
                context = await _contact_context(session, site, code, needs, start)
                tz = ZoneInfo(site.timezone)
                context.update(
                    entered=entered,
                    refusal=french.message(refused.code),
                    alternatives=_alternatives(refused, tz),
                )
                return Template("booking_contact.html", context=context, status_code=409)
            except DomainError as error:
                if error.status >= 404:
                    raise
                errors = {"formulaire": french.message(error.code)}
            else:
                return Redirect(f"/rendez-vous/{appointment.token}?confirme=1", status_code=303)
        context = await _contact_context(session, site, code, needs, start)
        context.update(entered=entered, errors=errors)
        return Template("booking_contact.html", context=context, status_code=422)

    @get("/rendez-vous/{token:str}")
    async def appointment(
        self,
        token: Token,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
    ) -> Template:
        appointment = await booking.get_by_token(session, token)
        notice = next(
            (
                text
                for flag, text in (
                    ("confirme", "Votre rendez-vous est confirmé."),
                    ("deplace", "Votre rendez-vous a été déplacé."),
                    ("annule", "Votre rendez-vous est annulé."),
                    ("sans-rappels", "Vous ne recevrez plus de rappels pour ce rendez-vous."),
                )
                if request.query_params.get(flag)
            ),
            None,
        )
        context = _appointment_context(appointment, settings, now)
        context["notice"] = notice
        context.update(await _called_off_context(session, appointment, now))
        escalation = await visits.escalation_of_appointment(session, appointment.id)
        context["escalation"] = usager_view(escalation, ZoneInfo(appointment.site.timezone))
        return Template("appointment.html", context=context, headers=_private())

    @get("/r/{token:str}")
    async def short_link(self, token: Token) -> Redirect:
        """The short form of the private link, for text messages."""
        return Redirect(f"/rendez-vous/{token}", status_code=303)

    @post("/rendez-vous/{token:str}/rappels")
    async def stop_reminders(
        self, token: Token, request: Request[Any, Any, State], db: NamedDependency[Database]
    ) -> Redirect:
        _throttle_change(request)
        await booking.stop_reminders(db, token)
        return Redirect(f"/rendez-vous/{token}?sans-rappels=1#rappels", status_code=303)

    @get("/rendez-vous/{token:str}/annuler")
    async def confirm_cancel(
        self,
        token: Token,
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
    ) -> Template:
        appointment = await booking.get_by_token(session, token)
        context = _appointment_context(appointment, settings, now)
        return Template("appointment_cancel.html", context=context, headers=_private())

    @post("/rendez-vous/{token:str}/annuler")
    async def cancel(
        self,
        token: Token,
        request: Request[Any, Any, State],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
    ) -> Redirect:
        _throttle_change(request)
        await booking.cancel(db, token, now=now)
        return Redirect(f"/rendez-vous/{token}?annule=1", status_code=303)

    @get("/rendez-vous/{token:str}/deplacer")
    async def choose_new_slot(
        self,
        token: Token,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
    ) -> Template:
        _throttle_search(request)
        appointment = await booking.get_by_token(session, token)
        site = appointment.site
        first = _parse_day(request.query_params.get("du"), local_today(site, now))
        first = max(first, local_today(site, now))
        context = _appointment_context(appointment, settings, now)
        context.update(
            await _slot_context(
                session, site, appointment.service.code, tuple(appointment.needs), first, now
            )
        )
        return Template("appointment_move.html", context=context, headers=_private())

    @post("/rendez-vous/{token:str}/deplacer")
    async def move(
        self,
        token: Token,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
    ) -> Template | Redirect:
        _throttle_change(request)
        form = await request.form()
        start = _parse_start(str(form.get("debut", "")))
        appointment = await booking.get_by_token(session, token)
        site = appointment.site
        try:
            if start is None:
                raise booking.SlotRefused(Refusal.OFF_GRID)
            await booking.reschedule(
                db,
                token,
                start,
                now=now,
                per_address_per_day=settings.bookings_per_address_per_day,
            )
        except (booking.SlotRefused, Conflict) as refused:
            first = local_today(site, now)
            if start is not None:
                first = max(first, start.astimezone(ZoneInfo(site.timezone)).date())
            context = _appointment_context(appointment, settings, now)
            context.update(
                await _slot_context(
                    session, site, appointment.service.code, tuple(appointment.needs), first, now
                )
            )
            context.update(refusal=french.message(refused.code))
            return Template("appointment_move.html", context=context, status_code=409)
        return Redirect(f"/rendez-vous/{token}?deplace=1", status_code=303)

    @get("/rendez-vous/{token:str}/reprendre")
    async def choose_instead(
        self,
        token: Token,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
    ) -> Template | Redirect:
        """An appointment the mairie called off: the week's free slots, to take one."""
        _throttle_search(request)
        appointment = await booking.get_by_token(session, token)
        if appointment.status != CALLED_OFF or appointment.rebooked_as_id is not None:
            return Redirect(f"/rendez-vous/{token}", status_code=303)
        first = _parse_day(request.query_params.get("du"), local_today(appointment.site, now))
        context = await _rebook_context(session, appointment, settings, first, now)
        return Template("appointment_rebook.html", context=context, headers=_private())

    @post("/rendez-vous/{token:str}/reprendre")
    async def rebook(
        self,
        token: Token,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
    ) -> Template | Redirect:
        """Take a slot in place of an appointment the mairie called off: a booking like
        any other, for the same person, démarche and needs."""
        _throttle_change(request)
        form = await request.form()
        start = _parse_start(str(form.get("debut", "")))
        appointment = await booking.get_by_token(session, token)
        try:
            if start is None:
                raise booking.SlotRefused(Refusal.OFF_GRID)
            taken = await booking.rebook(
                db,
                token,
                start,
                now=now,
                client=contacts.client_network(client_address(request)),
                per_address_per_day=settings.bookings_per_address_per_day,
            )
        except DomainError as error:
            if error.status in (404, 429):
                raise
            site = appointment.site
            first = local_today(site, now)
            if start is not None:
                first = max(first, start.astimezone(ZoneInfo(site.timezone)).date())
            context = await _rebook_context(session, appointment, settings, first, now)
            context.update(refusal=french.message(error.code))
            return Template(
                "appointment_rebook.html",
                context=context,
                status_code=error.status,
                headers=_private(),
            )
        return Redirect(f"/rendez-vous/{taken.token}?confirme=1", status_code=303)


def _private() -> dict[str, str]:
    """Pages reached by a private link: kept out of caches and of other sites' logs."""
    return {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _service_view(item: Service) -> dict[str, Any]:
    return {
        "code": item.code,
        "name": item.name,
        "description": item.description,
        "duration": french.minutes(item.duration_minutes),
        "double": item.station_kind == "double",
    }


async def _choice(
    session: AsyncSession, code: str, needs: tuple[str, ...]
) -> tuple[Service, list[Need]]:
    return await booking.get_service(session, code), await booking.get_needs(session, needs)


async def _slot_context(
    session: AsyncSession,
    site: Site,
    code: str,
    needs: tuple[str, ...],
    first: date,
    now: datetime,
) -> dict[str, Any]:
    service, chosen = await _choice(session, code, needs)
    last = first + timedelta(days=DAYS_SHOWN - 1)
    _, slots = await booking.availability(session, site.slug, code, needs, first, last, now)
    tz = ZoneInfo(site.timezone)
    length = booking.requirement_of(service, chosen).length_minutes
    today = local_today(site, now)
    return {
        "site": site,
        "service": service,
        "needs": chosen,
        "need_codes": [need.code for need in chosen],
        "length": french.minutes(length),
        "days": _week(slots, first, tz),
        "period": f"du {french.short_day(first)} au {french.short_day(last)}",
        "previous": (first - timedelta(days=DAYS_SHOWN)).isoformat() if first > today else None,
        "next": (first + timedelta(days=DAYS_SHOWN)).isoformat(),
    }


async def _contact_context(
    session: AsyncSession, site: Site, code: str, needs: tuple[str, ...], start: datetime
) -> dict[str, Any]:
    service, chosen = await _choice(session, code, needs)
    local = start.astimezone(ZoneInfo(site.timezone))
    return {
        "site": site,
        "service": service,
        "needs": chosen,
        "need_codes": [need.code for need in chosen],
        "start": local.isoformat(),
        "when": french.moment(local),
        "length": french.minutes(booking.requirement_of(service, chosen).length_minutes),
        "entered": ContactForm(),
        "errors": {},
        "refusal": None,
        "alternatives": [],
    }


def _contact_errors(entered: ContactForm) -> dict[str, str]:
    """French messages per field, from the domain's own checks."""
    errors: dict[str, str] = {}
    checks: list[tuple[str, str, Callable[[str], str]]] = [
        ("nom", entered.nom, booking.normalise_name),
        ("email", entered.email, contacts.deliverable_email),
        ("telephone", entered.telephone, booking.normalise_phone),
    ]
    for field, value, check in checks:
        if field != "nom" and not value:
            continue
        try:
            check(value)
        except DomainError as error:
            errors[field] = french.message(error.code)
    if not entered.email and not entered.telephone:
        errors["email"] = french.message("contact_missing")
    if entered.rappels_sms and not entered.telephone and "telephone" not in errors:
        errors["telephone"] = "Indiquez un numéro de téléphone pour recevoir des SMS."
    texts = entered.rappels_sms or not entered.email
    if texts and entered.telephone and not contacts.is_mobile(entered.telephone):
        errors.setdefault("telephone", french.message("phone_not_mobile"))
    return errors


def _slot_choices(slots: list[Slot], tz: ZoneInfo) -> list[dict[str, str]]:
    return [
        {
            "value": slot.start.astimezone(tz).isoformat(),
            "label": french.moment(slot.start.astimezone(tz)),
        }
        for slot in slots
    ]


async def _called_off_context(
    session: AsyncSession, appointment: Appointment, now: datetime
) -> dict[str, Any]:
    """For an appointment the mairie called off: the nearest free slots to take in one
    click, or the appointment already taken instead."""
    if appointment.status != CALLED_OFF:
        return {"called_off": False, "offers": [], "rebooked": None}
    rebooked = None
    if appointment.rebooked_as_id is not None:
        taken = await session.get(Appointment, appointment.rebooked_as_id)
        if taken is not None:
            local = taken.starts_at.astimezone(ZoneInfo(appointment.site.timezone))
            rebooked = {
                "reference": taken.reference,
                "when": french.moment(local),
                "url": f"/rendez-vous/{taken.token}",
            }
    offers: list[dict[str, str]] = []
    if rebooked is None:
        found = await booking.nearest_free(session, appointment.site, [appointment], now)
        offers = _slot_choices(found[appointment.id], ZoneInfo(appointment.site.timezone))
    return {"called_off": True, "offers": offers, "rebooked": rebooked}


async def _rebook_context(
    session: AsyncSession,
    appointment: Appointment,
    settings: Settings,
    first: date,
    now: datetime,
) -> dict[str, Any]:
    site = appointment.site
    first = max(first, local_today(site, now))
    needs = await booking.offered_needs(session, appointment.needs)
    context = _appointment_context(appointment, settings, now)
    context.update(await _called_off_context(session, appointment, now))
    context.update(
        await _slot_context(
            session,
            site,
            appointment.service.code,
            tuple(need.code for need in needs),
            first,
            now,
        )
    )
    context["refusal"] = None
    return context


def _appointment_context(
    appointment: Appointment, settings: Settings, now: datetime
) -> dict[str, Any]:
    tz = ZoneInfo(appointment.site.timezone)
    start = appointment.starts_at.astimezone(tz)
    end = appointment.ends_at.astimezone(tz)
    changeable = appointment.status == AppointmentStatus.BOOKED and now < appointment.starts_at
    return {
        "appointment": appointment,
        "token": appointment.token,
        "status": french.STATUSES.get(appointment.status, appointment.status),
        "cancelled": appointment.status in RELEASED,
        "changeable": changeable,
        "when": french.moment(start),
        "until": french.clock(end),
        "length": french.minutes(
            int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
        ),
        "ics": ics_url("", appointment.token),
        "private_url": f"{settings.base_url}/rendez-vous/{appointment.token}",
        "reminders": [
            channel
            for channel, wanted in (
                ("par e-mail", appointment.reminders_by_email),
                ("par SMS", appointment.reminders_by_sms),
            )
            if wanted
        ],
    }
