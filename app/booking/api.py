"""The booking API: availability, booking, and managing one's booking by its token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from app import bounds
from app.accounts.actors import Actor
from app.accounts.guards import STAFF_SECURITY, known_booker, provide_booker
from app.accounts.service import authorize
from app.booking import alerts, commands, schemas
from app.booking.alert_pages import release_alert
from app.booking.contacts import contact
from app.booking.ics import calendar_entry, calendar_file
from app.booking.queries import free_slots, get_by_token
from app.booking.throttling import search_budget, throttle_booking
from app.errors import BadRequest, Forbidden, Unauthorized
from app.problems import problem_responses
from app.sites.api_common import SiteAdministration, SiteCaller
from app.sites.models import Site
from app.sites.schemas import Slug
from app.sites.service import EARLIEST_DAY, bad_day, booking_horizon, get_site
from app.throttle import client_key
from app.waitlist import commands as waitlist
from app.waitlist.queries import offer_out, waitlist_out
from app.web.context import Context

Day = Annotated[date, PathParameter(description="The local day, YYYY-MM-DD")]
FromDate = Annotated[date | None, QueryParameter(name="from", description="First day, YYYY-MM-DD")]
ToDate = Annotated[date | None, QueryParameter(name="to", description="Last day, YYYY-MM-DD")]
BOOKING_ROLES = frozenset({"reception", "manager"})


def check_open_from(site: Site, first: date | None, now: datetime) -> None:
    """A search's first day (`from`) no later than the last day `site` takes bookings for,
    else a 400 naming it and the days it may be: past that day nothing is ever offered, and
    counting a week from 9999-12-31 overflows. A day already past is no mistake (the
    client's today may be behind the mairie's): it simply has no free slot."""
    last_open = booking_horizon(site, now).date()
    if first is not None and not EARLIEST_DAY <= first <= last_open:
        ahead = site.booking_horizon_days
        raise bad_day(
            "from",
            f"`from` must lie between {EARLIEST_DAY} and {last_open}: {site.name} takes "
            f"bookings up to {ahead} day{'' if ahead == 1 else 's'} ahead.",
        )


class BookingController(Controller):
    path = "/api/v1"
    tags = ["booking"]

    @get(
        "/sites/{slug:str}/availability",
        summary="Free slots of a mairie for a service",
        guards=[search_budget],
    )
    async def availability(
        self,
        slug: Slug,
        service_code: Annotated[str, QueryParameter(name="service", max_length=40)],
        context: NamedDependency[Context],
        first: FromDate = None,
        last: ToDate = None,
        needs: FromQuery[str] = "",
    ) -> schemas.AvailabilityOut:
        site = await get_site(context.session, slug)
        check_open_from(site, first, context.now)
        slots = await free_slots(
            context.session, site, service_code, tuple(needs.split(",")), first, last, context.now
        )
        tz = ZoneInfo(site.timezone)
        return schemas.AvailabilityOut(
            site=site.slug,
            service=service_code,
            timezone=site.timezone,
            slots=[schemas.slot_out(slot, tz) for slot in slots],
        )

    @post(
        "/appointments",
        summary="Book a slot",
        description="Phone and counter bookings need a reception token. A partner (a CCAS, "
        "a France Services) books with its key (`Authorization: Bearer gp_…`), at its "
        'mairies only, with `channel: "partner"`; the person gets the confirmation and '
        "the partner a copy.",
        security=[{}, *STAFF_SECURITY],
        responses=problem_responses(404, 409, 422),
        dependencies={"booker": Provide(provide_booker)},
    )
    async def book(
        self,
        request: Request[object, object, State],
        data: JSONBody[schemas.AppointmentIn],
        context: NamedDependency[Context],
        booker: NamedDependency[Actor | None],
    ) -> schemas.AppointmentOut:
        session, settings = context.session, context.settings
        channel, partner_id = await _who_books(request, context, data, booker)
        agent_id = booker.agent_id if booker is not None else None
        booking = commands.BookingRequest(
            site=data.site,
            service=data.service,
            start=data.start,
            contact=contact(data.name, data.email, data.phone),
            needs=tuple(data.needs),
            channel=channel,
            reminders_by_email=data.reminders_by_email,
            reminders_by_sms=data.reminders_by_sms,
            client=None if booker else client_key(request),
            partner_id=partner_id,
        )
        appointment = await commands.book(
            session,
            booking,
            now=context.now,
            agent_id=agent_id,
            per_address_per_day=settings.bookings_per_address_per_day,
        )
        return schemas.appointment_out(appointment, settings.base_url)

    @get("/appointments/{token:str}", summary="One's booking, by the token of its private link")
    async def get_appointment(
        self,
        token: schemas.Token,
        context: NamedDependency[Context],
    ) -> schemas.AppointmentOut:
        appointment = await get_by_token(context.session, token)
        found = schemas.appointment_out(appointment, context.settings.base_url)
        standing = await waitlist.standing(context.session, appointment.id, context.now)
        tz = ZoneInfo(appointment.site.timezone)
        found.offer = offer_out(standing, tz)
        found.waitlist = waitlist_out(standing, tz)
        return found

    @post(
        "/appointments/{token:str}/cancel",
        status_code=200,
        summary="Cancel (idempotent)",
        responses=problem_responses(409),
    )
    async def cancel(
        self,
        request: Request[object, object, State],
        token: schemas.Token,
        context: NamedDependency[Context],
    ) -> schemas.AppointmentOut:
        by = await ByLink.of(request, context, token)
        if not by.desk:
            throttle_booking(request)
        appointment = await commands.cancel(
            context.session, token, now=context.now, agent_id=by.agent_id
        )
        return schemas.appointment_out(appointment, context.settings.base_url)

    @post(
        "/appointments/{token:str}/reschedule",
        status_code=200,
        summary="Move to another slot",
        responses=problem_responses(409, 422),
    )
    async def reschedule(
        self,
        request: Request[object, object, State],
        token: schemas.Token,
        data: JSONBody[schemas.RescheduleIn],
        context: NamedDependency[Context],
    ) -> schemas.AppointmentOut:
        settings = context.settings
        by = await ByLink.of(request, context, token)
        if not by.desk:
            throttle_booking(request)
        appointment = await commands.reschedule(
            context.session,
            token,
            data.start,
            now=context.now,
            per_address_per_day=None if by.desk else settings.bookings_per_address_per_day,
            agent_id=by.agent_id,
        )
        return schemas.appointment_out(appointment, settings.base_url)

    @get(
        "/appointments/{token:str}/calendar.ics",
        summary="The calendar file of one's booking",
        media_type="text/calendar",
    )
    async def calendar(
        self,
        token: schemas.Token,
        context: NamedDependency[Context],
    ) -> Response[str]:
        appointment = await get_by_token(context.session, token)
        filename = f"rendez-vous-{appointment.reference}.ics"
        return Response(
            calendar_file(calendar_entry(appointment, context.settings.base_url)),
            media_type="text/calendar",  # Litestar adds "; charset=utf-8" to text/*
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )


@dataclass(frozen=True)
class ByLink:
    """Who moves or cancels a booking by its link: `agent_id`, an agent (any agent: the
    journal names them), and whether the per-address budgets spare the request (`desk`:
    staff who may book at the booking's mairie, or a partner who refers people there).
    Anyone else, credentials that do not hold included, is a request like anyone's."""

    agent_id: int | None = None
    desk: bool = False

    @classmethod
    async def of(
        cls, request: Request[object, object, State], context: Context, token: str
    ) -> ByLink:
        booker = await known_booker(request, context)
        if booker is None:
            return cls()
        site = (await get_by_token(context.session, token)).site
        try:
            if booker.is_partner:
                booker.refers_at(site)
            else:
                authorize(booker, roles=BOOKING_ROLES, site=site)
        except Forbidden:
            return cls(booker.agent_id)
        return cls(booker.agent_id, desk=True)


async def _who_books(
    request: Request[object, object, State],
    context: Context,
    data: schemas.AppointmentIn,
    booker: Actor | None,
) -> tuple[str, int | None]:
    """The channel of the booking and the partner who refers the person, once `booker` may
    book it: anyone online, reception by phone or at the counter at their mairie, a
    partner with its key at its mairies (whatever channel it names but another's)."""
    if booker is not None and booker.is_partner:
        if data.channel not in ("online", "partner"):
            raise Forbidden('A partner books with channel "partner".', code="partner_channel")
        booker.refers_at(await get_site(context.session, data.site))
        return "partner", booker.partner_id
    if data.channel == "partner":
        if booker is None:
            raise Unauthorized("Partners book with their key: Authorization: Bearer gp_….")
        raise Forbidden("Only a partner's key books for a partner.", code="not_a_partner")
    if data.channel != "online" and booker is None:
        raise Unauthorized("Phone and counter bookings are made by reception: log in first.")
    if booker is None:
        throttle_booking(request)
    else:
        site = await get_site(context.session, data.site)
        authorize(booker, roles=BOOKING_ROLES, site=site)
    return data.channel, None


class BookingAlertsController(SiteAdministration):
    """Days of a mairie filling abnormally fast with online bookings, and their release."""

    path = "/api/v1/admin/sites"

    @get(
        "/{slug:str}/booking-alerts",
        summary="Days filling abnormally fast (manager)",
        description="Days of the mairie that took more than GUICHET_BOOKING_ALERT_PER_HOUR "
        "online bookings within the last hour; `suspects` are those that share a client "
        "network or a person (normalised email, phone) with another of them.",
    )
    async def list_alerts(
        self, site_caller: NamedDependency[SiteCaller]
    ) -> list[schemas.BookingAlertOut]:
        found = await alerts.alerts_of(
            site_caller.session,
            site_caller.site,
            site_caller.now,
            site_caller.settings.booking_alert_per_hour,
        )
        return [schemas.booking_alert_out(burst) for burst in found]

    @post(
        "/{slug:str}/booking-alerts/{day:date}/release",
        status_code=200,
        summary="Release the suspect bookings of a day's alert (manager)",
        description="Cancels the suspect bookings of the day's alert that have not begun; "
        "each person is told once, however many of their bookings are released. A second "
        "call releases and tells nothing more. Written to the audit log.",
    )
    async def release(
        self,
        site_caller: NamedDependency[SiteCaller],
        day: Day,
    ) -> schemas.ReleasedOut:
        if not bounds.within_days(day):
            raise BadRequest(f"The day must be {bounds.DAY_BOUNDS_ENGLISH}.", code="date_invalid")
        released = await release_alert(site_caller, site_caller.site, day)
        return schemas.ReleasedOut(day=released.day, released=released.released, told=released.told)
