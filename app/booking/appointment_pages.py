"""The private page of an appointment, reached by its link: where one sees, moves or
cancels it, stops its reminders, or, once the mairie called it off, takes one of the
nearest free slots in one step. Plain forms: no JavaScript needed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from app import bounds
from app.booking import commands, contacts
from app.booking.models import RELEASED, Appointment, AppointmentStatus
from app.booking.queries import SlotRefused, get_by_token, nearest_free, offered_needs
from app.booking.schemas import Token, ics_url, manage_url
from app.booking.slot_views import first_day_after, first_day_asked, slot_choices, slot_context
from app.booking.slots import Refusal
from app.booking.throttling import throttle_booking, throttle_search
from app.errors import Conflict, DomainError
from app.i18n import N_, formats, gettext
from app.i18n.texts import STATUSES, label, refusal
from app.sites.service import local_today
from app.throttle import client_address
from app.visits import service as visits
from app.visits.staff_pages import usager_view
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


def _private_page(template: str, page: dict[str, Any], status: int = 200) -> Template:
    """A page reached by a private link: kept out of caches and of other sites' logs."""
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return Template(template, context=page, status_code=status, headers=headers)


async def _chosen_start(request: Request[Any, Any, State]) -> datetime:
    """The slot chosen in the form (`debut`); SlotRefused for anything but a time."""
    form = await request.form()
    start = bounds.parse_datetime(str(form.get("debut", "")))
    if start is None:
        raise SlotRefused(Refusal.OFF_GRID)
    return start


class AppointmentPages(PublicController):
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
                client=contacts.client_network(client_address(visitor.request)),
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
Choice = tuple[str, Callable[[Context, Appointment, date], Awaitable[dict[str, Any]]]]


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
    first = first_day_asked(visitor.request, appointment.site, visitor.now)
    return _private_page(template, await page_of(visitor.context, appointment, first))


async def _move_context(context: Context, appointment: Appointment, first: date) -> dict[str, Any]:
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
    context: Context, appointment: Appointment, first: date
) -> dict[str, Any]:
    """The appointment called off, and the week of free slots from `first` (today at the
    earliest) for its démarche and the needs still offered."""
    site = appointment.site
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
    return {
        "appointment": appointment,
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
        "reminders": [
            channel
            for channel, wanted in (
                (gettext("par e-mail"), appointment.reminders_by_email),
                (gettext("par SMS"), appointment.reminders_by_sms),
            )
            if wanted
        ],
    }
