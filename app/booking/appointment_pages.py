"""The private page of an appointment, reached by its link: where one sees, moves or
cancels it, stops its reminders, or, once the mairie called it off, takes one of the
nearest free slots in one step. Plain forms: no JavaScript needed."""

from __future__ import annotations

import math
import secrets
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import bounds
from app.booking import commands, contacts
from app.booking.models import RELEASED, Appointment, AppointmentStatus
from app.booking.queries import (
    SlotRefused,
    arrival_window,
    get_by_token,
    get_needs,
    nearest_free,
    offered_needs,
)
from app.booking.references import CODE_LENGTH, normalised_reference, typed_characters
from app.booking.schemas import Token, ics_url, manage_url
from app.booking.slot_views import (
    Asked,
    asked,
    first_day_after,
    slot_choices,
    slot_context,
)
from app.booking.slots import Refusal
from app.booking.throttling import throttle_booking, throttle_search
from app.errors import Conflict, DomainError
from app.i18n import N_, formats, gettext, ngettext
from app.i18n.texts import STATUSES, label, refusal
from app.notify.models import MessageStatus, OutboxMessage
from app.sites.geo import map_link
from app.sites.service import local_today
from app.throttle import client_address, client_key
from app.visits import service as visits
from app.visits.staff_pages import usager_view
from app.waitlist import queries as earlier_slots
from app.web.context import Context
from app.web.public import PublicController, Visitor, short_link

CALLED_OFF = AppointmentStatus.CALLED_OFF
# What the page says on coming back from a change, by the flag in its query.
NOTICES = (
    ("confirme", N_("Votre rendez-vous est confirmé.")),
    ("deplace", N_("Votre rendez-vous a été déplacé.")),
    ("annule", N_("Votre rendez-vous est annulé.")),
    ("sans-rappels", N_("Vous ne recevrez plus de rappels pour ce rendez-vous.")),
)


def _private_page(
    template: str, page: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Template:
    """A page reached by a private link: kept out of caches and of other sites' logs."""
    private = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", **(headers or {})}
    return Template(template, context=page, status_code=status, headers=private)


async def _chosen_start(request: Request[Any, Any, State]) -> datetime:
    """The slot chosen in the form (`debut`); SlotRefused for anything but a time."""
    form = await request.form()
    start = bounds.parse_datetime(str(form.get("debut", "")))
    if start is None:
        raise SlotRefused(Refusal.OFF_GRID)
    return start


class AppointmentPages(PublicController):
    @get("/rendez-vous/retrouver")
    async def find_form(self, visitor: NamedDependency[Visitor]) -> Template:
        """Where someone who lost the link gives the reference and the phone or email."""
        return _private_page("appointment_find.html", {"entered": {}, "errors": {}})

    @post("/rendez-vous/retrouver")
    async def find(self, visitor: NamedDependency[Visitor]) -> Template | Redirect:
        """The appointment of this reference, if the phone or email given is the one it
        was booked with; one answer for an unknown reference and a wrong contact."""
        request = visitor.request
        address = client_address(request)
        limits = request.app.state.limits
        limits.token_lookups.check(
            client_key(request),
            "Too many appointments looked for from your address: wait a moment.",
        )
        form = await request.form()
        reference = str(form.get("reference", ""))[:40]
        contact = str(form.get("contact", ""))[:254].strip()
        entered = {"reference": reference, "contact": contact}
        errors = {}
        wanted, own = normalised_reference(reference), typed_characters(reference)
        if not wanted and len(own) == CODE_LENGTH:  # its arrondissement left out
            errors["reference"] = gettext(
                "Indiquez la référence entière, avec le numéro de l'arrondissement devant : "
                "par exemple 15-%(own)s.",
                own=own,
            )
        elif not wanted:
            errors["reference"] = gettext("Indiquez la référence de votre rendez-vous.")
        if not contact:
            errors["contact"] = gettext(
                "Indiquez le numéro de téléphone ou l'adresse e-mail donné à la réservation."
            )
        wait = 0.0 if errors else limits.finding_wait(address, wanted)
        if wait:
            minutes = math.ceil(wait / 60)
            errors["formulaire"] = ngettext(
                "Trop d'essais pour retrouver ce rendez-vous : réessayez dans %(num)d minute.",
                "Trop d'essais pour retrouver ce rendez-vous : réessayez dans %(num)d minutes.",
                minutes,
            )
            page = {"entered": entered, "errors": errors, "throttled": True}
            retry = {"Retry-After": str(minutes * 60)}
            return _private_page("appointment_find.html", page, 429, retry)
        if not errors:
            found = await appointment_of(visitor.session, reference, contact)
            if found is not None:
                limits.found(address, wanted)
                return Redirect(f"/rendez-vous/{found.token}", status_code=303)
            errors["formulaire"] = gettext(
                "Aucun rendez-vous ne correspond à cette référence et à ces coordonnées."
            )
        page = {"entered": entered, "errors": errors}
        return _private_page("appointment_find.html", page, 422)

    @get("/rendez-vous/{token:str}")
    async def appointment(
        self,
        token: Token,
        visitor: NamedDependency[Visitor],
    ) -> Template:
        session = visitor.session
        appointment = await get_by_token(session, token)
        notice = next(
            (gettext(text) for flag, text in NOTICES if visitor.request.query_params.get(flag)),
            None,
        )
        page = _appointment_context(visitor.context, appointment)
        page["notice"] = notice
        page.update(await _called_off_context(visitor.context, appointment))
        page.update(await _coming_context(visitor.context, appointment))
        page.update(await earlier_slots.summary(session, appointment, visitor.now))
        escalation = await visits.escalation_of_appointment(session, appointment.id)
        page["escalation"] = usager_view(escalation, ZoneInfo(appointment.site.timezone))
        return _private_page("appointment.html", page)

    short = short_link("/r/{token:str}", "/rendez-vous/{token}")

    @post("/rendez-vous/{token:str}/rappels")
    async def stop_reminders(
        self,
        token: Token,
        visitor: NamedDependency[Visitor],
    ) -> Redirect:
        throttle_booking(visitor.request)
        await commands.stop_reminders(visitor.session, token, visitor.now)
        return Redirect(f"/rendez-vous/{token}?sans-rappels=1#rappels", status_code=303)

    @get("/rendez-vous/{token:str}/annuler")
    async def confirm_cancel(
        self,
        token: Token,
        visitor: NamedDependency[Visitor],
    ) -> Template:
        appointment = await get_by_token(visitor.session, token)
        page = _appointment_context(visitor.context, appointment)
        return _private_page("appointment_cancel.html", page)

    @post("/rendez-vous/{token:str}/annuler")
    async def cancel(
        self,
        token: Token,
        visitor: NamedDependency[Visitor],
    ) -> Redirect:
        throttle_booking(visitor.request)
        await commands.cancel(visitor.session, token, now=visitor.now)
        return Redirect(f"/rendez-vous/{token}?annule=1", status_code=303)

    @get("/rendez-vous/{token:str}/deplacer")
    async def choose_new_slot(
        self,
        token: Token,
        visitor: NamedDependency[Visitor],
    ) -> Template:
        throttle_search(visitor.request)
        appointment = await get_by_token(visitor.session, token)
        return await _choosing(visitor, appointment, MOVE)

    @post("/rendez-vous/{token:str}/deplacer")
    async def move(
        self,
        token: Token,
        visitor: NamedDependency[Visitor],
    ) -> Template | Redirect:
        throttle_booking(visitor.request)
        start: datetime | None = None
        try:
            start = await _chosen_start(visitor.request)
            await commands.reschedule(
                visitor.session,
                token,
                start,
                now=visitor.now,
                per_address_per_day=visitor.settings.bookings_per_address_per_day,
            )
        except (SlotRefused, Conflict) as refused:
            return await _refused(visitor.context, token, start, MOVE, refused.code, 409)
        return Redirect(f"/rendez-vous/{token}?deplace=1", status_code=303)

    @get("/rendez-vous/{token:str}/reprendre")
    async def choose_instead(
        self,
        token: Token,
        visitor: NamedDependency[Visitor],
    ) -> Template | Redirect:
        """An appointment the mairie called off: the week's free slots, to take one."""
        throttle_search(visitor.request)
        appointment = await get_by_token(visitor.session, token)
        if appointment.status != CALLED_OFF or appointment.rebooked_as_id is not None:
            return Redirect(f"/rendez-vous/{token}", status_code=303)
        return await _choosing(visitor, appointment, REBOOK)

    @post("/rendez-vous/{token:str}/reprendre")
    async def rebook(
        self,
        token: Token,
        visitor: NamedDependency[Visitor],
    ) -> Template | Redirect:
        """Take a slot in place of an appointment the mairie called off: a booking like
        any other, for the same person, démarche and needs."""
        throttle_booking(visitor.request)
        start: datetime | None = None
        try:
            start = await _chosen_start(visitor.request)
            taken = await commands.rebook(
                visitor.session,
                token,
                start,
                now=visitor.now,
                client=client_key(visitor.request),
                per_address_per_day=visitor.settings.bookings_per_address_per_day,
            )
        except DomainError as error:
            if error.status in (404, 429):
                raise
            return await _refused(visitor.context, token, start, REBOOK, error.code, error.status)
        return Redirect(f"/rendez-vous/{taken.token}?confirme=1", status_code=303)


async def _called_off_context(context: Context, appointment: Appointment) -> dict[str, Any]:
    """For an appointment the mairie called off: the nearest free slots to take in one
    click, or the appointment already taken instead."""
    if appointment.status != CALLED_OFF:
        return {"called_off": False, "offers": [], "rebooked": None}
    session = context.session
    tz = ZoneInfo(appointment.site.timezone)
    rebooked = None
    if appointment.rebooked_as_id is not None:
        taken = await session.get(Appointment, appointment.rebooked_as_id)
        if taken is not None:
            rebooked = {
                "reference": taken.reference,
                "when": formats.moment(taken.starts_at.astimezone(tz)),
                "url": f"/rendez-vous/{taken.token}",
            }
    offers: list[dict[str, str]] = []
    if rebooked is None:
        found = await nearest_free(session, appointment.site, [appointment], context.now)
        offers = slot_choices(found[appointment.id], tz)
    return {"called_off": True, "offers": offers, "rebooked": rebooked}


# A page to choose a slot on: its template, and what it shows from a first day.
Choice = tuple[str, Callable[[Context, Appointment, date | Asked], Awaitable[dict[str, Any]]]]


async def _refused(
    context: Context,
    token: str,
    start: datetime | None,
    again: Choice,
    code: str | None,
    status: int,
) -> Template:
    """The choice of a slot again, in the week of the one refused, saying why."""
    template, page_of = again
    appointment = await get_by_token(context.session, token)
    first = first_day_after(appointment.site, start, context.now)
    page = await page_of(context, appointment, first)
    page.update(refusal=refusal(code or ""))
    return _private_page(template, page, status)


async def _choosing(visitor: Visitor, appointment: Appointment, choice: Choice) -> Template:
    """The choice of a slot for `appointment`, from the week asked for in the query."""
    template, page_of = choice
    wanted = asked(visitor.request, appointment.site, visitor.now)
    return _private_page(template, await page_of(visitor.context, appointment, wanted))


async def _move_context(
    context: Context, appointment: Appointment, first: date | Asked
) -> dict[str, Any]:
    """The appointment, and the week of free slots from `first` for its démarche and needs."""
    page = _appointment_context(context, appointment)
    page.update(
        await slot_context(
            context,
            appointment.site,
            appointment.service.code,
            tuple(appointment.needs),
            first,
            retired=True,
        )
    )
    return page


async def _rebook_context(
    context: Context, appointment: Appointment, first: date | Asked
) -> dict[str, Any]:
    """The appointment called off, and the week of free slots from `first` (today at the
    earliest) for its démarche and the needs still offered."""
    site = appointment.site
    if isinstance(first, date):
        first = max(first, local_today(site, context.now))
    needs = await offered_needs(context.session, appointment.needs)
    page = _appointment_context(context, appointment)
    page.update(await _called_off_context(context, appointment))
    page.update(
        await slot_context(
            context, site, appointment.service.code, tuple(need.code for need in needs), first
        )
    )
    page["refusal"] = None
    return page


MOVE: Choice = ("appointment_move.html", _move_context)
REBOOK: Choice = ("appointment_rebook.html", _rebook_context)


def _appointment_context(context: Context, appointment: Appointment) -> dict[str, Any]:
    tz = ZoneInfo(appointment.site.timezone)
    start = appointment.starts_at.astimezone(tz)
    end = appointment.ends_at.astimezone(tz)
    changeable = (
        appointment.status == AppointmentStatus.BOOKED and context.now < appointment.starts_at
    )
    email, phone = appointment.email or "", appointment.phone or ""
    return {
        "appointment": appointment,
        "site": appointment.site,
        "token": appointment.token,
        "status": label(STATUSES, appointment.status),
        "cancelled": appointment.status in RELEASED,
        "changeable": changeable,
        "when": formats.moment(start),
        "until": formats.clock(end),
        "length": formats.minutes(
            int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
        ),
        "ics": ics_url("", appointment.token),
        "private_url": manage_url(context.settings.base_url, appointment.token),
        "reminder_when": formats.hours_before(appointment.site.reminder_hours),
        "reminders": [
            channel
            for channel, wanted in (
                (
                    gettext("par e-mail à %(address)s", address=contacts.masked_email(email)),
                    appointment.reminders_by_email and bool(email),
                ),
                (
                    gettext("par SMS au %(number)s", number=contacts.masked_phone(phone)),
                    appointment.reminders_by_sms and bool(phone),
                ),
            )
            if wanted
        ],
    }


def _contact_key(text: str) -> str:
    """A phone or an email as compared: the E.164 number, or the email's key."""
    if "@" in text:
        return "email:" + contacts.email_key(text)
    try:
        return "phone:" + contacts.e164(text)
    except DomainError:
        return "phone:?"


async def appointment_of(session: AsyncSession, reference: str, contact: str) -> Appointment | None:
    """The appointment of `reference` if `contact` is its phone or email, compared in
    constant time, and compared all the same when there is no such reference."""
    found = await session.scalar(
        select(Appointment)
        .where(Appointment.reference == normalised_reference(reference))
        .options(selectinload(Appointment.site))
    )
    given = _contact_key(contact).encode()
    email = found.email if found is not None else None
    phone = found.phone if found is not None else None
    kept = [
        f"email:{contacts.email_key(email)}" if email else "",
        f"phone:{phone}" if phone else "",
    ]
    matches = [secrets.compare_digest(given, (key or "-").encode()) for key in kept]
    return found if found is not None and any(matches) else None


# The messages that confirm an appointment's time and place: the booking's, then each
# change's.
CONFIRMING = ("confirmation", "moved", "station_changed")


async def _confirmation_sent(
    session: AsyncSession, appointment: Appointment, now: datetime
) -> dict[str, Any] | None:
    """The confirmation of the booking as it stands (that of its last move, if moved): by
    which channel, to which masked address, and whether it went (or waits for the morning,
    a text at night; or could not go). One that was not sent because the appointment
    changed first gave way to the change's message: it failed nothing."""
    message = (
        await session.execute(
            select(OutboxMessage.channel, OutboxMessage.status, OutboxMessage.send_after)
            .where(
                OutboxMessage.appointment_id == appointment.id,
                OutboxMessage.kind.in_(CONFIRMING),
                OutboxMessage.status != MessageStatus.CANCELLED,
            )
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
    ).first()
    if message is None:
        return None
    channel, status, send_after = message
    by_email = channel == "email"
    if by_email and appointment.email:
        to = contacts.masked_email(appointment.email)
    elif not by_email and appointment.phone:
        to = contacts.masked_phone(appointment.phone)
    else:
        return None
    tz = ZoneInfo(appointment.site.timezone)
    later = status == MessageStatus.PENDING and send_after > now
    return {
        "email": by_email,
        "to": to,
        "failed": status == MessageStatus.FAILED,
        "later": formats.moment(send_after.astimezone(tz)) if later else None,
    }


async def _coming_context(context: Context, appointment: Appointment) -> dict[str, Any]:
    """What the private page tells the person: what was sent where, how to come, when to
    arrive, the needs they told us of, the reminders' addresses, and where to book again
    once it is cancelled."""
    site = appointment.site
    tz = ZoneInfo(site.timezone)
    start = appointment.starts_at.astimezone(tz)
    needs = await get_needs(context.session, tuple(appointment.needs), retired=True)
    since, until = await arrival_window(context.session, site, appointment)
    return {
        "sent": await _confirmation_sent(context.session, appointment, context.now),
        "map_url": map_link(site),
        "arrive_from": formats.clock(since.astimezone(tz)),
        "arrive_until": formats.clock(until.astimezone(tz)),
        "starts": formats.clock(start),
        "told_needs": needs,
        "email_to": contacts.masked_email(appointment.email) if appointment.email else None,
        "phone_to": contacts.masked_phone(appointment.phone) if appointment.phone else None,
        "book_again": f"/mairies/{site.slug}/rendez-vous",
    }
