"""The queue's lookups, and the checks made before a change: a ticket, a station, the
site's waiting tickets and stations in service, and whether an arrival may be checked in
now and where it is placed (whether the site is open: `app.sites.opening`). Nothing here
changes data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    CompoundSelect,
    Integer,
    Select,
    String,
    bindparam,
    exists,
    func,
    inspect,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import Exists
from sqlalchemy.types import TypeEngine

from app.booking.models import Appointment, AppointmentStatus
from app.booking.queries import appointment_by_reference
from app.db import UTCDateTime, union_part
from app.errors import BadRequest, Conflict, Forbidden, NotFound
from app.queue import numbering
from app.queue.models import QueueState, Ticket, TicketStatus
from app.queue.ordering import Caller, Waiting
from app.shapes import field_names, from_model
from app.sites.hours import OpenDay
from app.sites.models import LateArrivalRule, Service, Site, Station, StationOutage
from app.sites.opening import has_closed

ACTIVE = (TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SERVING)
# In the queue: waiting there, or on the way (a remote ticket: counted, never called).
IN_LINE = (TicketStatus.REMOTE, TicketStatus.WAITING)
MAX_REASON = 200

WAITING_COLUMNS = (
    Ticket.id,
    Ticket.arrived_at,
    Ticket.due_at,
    Ticket.priority,
    Ticket.station_kind,
    Ticket.requires_accessible,
    Ticket.service_id,
)
# Each of `WAITING_COLUMNS` by the field of `Waiting` it fills (they come in its order).
WAITING_FIELDS = dict(zip(field_names(Waiting), WAITING_COLUMNS, strict=True))


def today(site: Site, now: datetime) -> date:
    return numbering.ticket_day(now, ZoneInfo(site.timezone))


# What every view of a ticket shows with it: its service and station.
TICKET_SHOWS = (joinedload(Ticket.service), joinedload(Ticket.station))


def ticket_query() -> Select[Ticket]:
    """Tickets with their service and station, which every view of a ticket shows."""
    return select(Ticket).options(*TICKET_SHOWS)


@cache
def _ticket_by_id() -> Select[Ticket]:
    return ticket_query().where(Ticket.id == bindparam("ticket"))


async def get_ticket(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await session.scalar(_ticket_by_id(), {"ticket": ticket_id})
    if ticket is None:
        raise NotFound(f"No ticket has the id {ticket_id}.")
    return ticket


async def get_station(session: AsyncSession, station_id: int) -> Station:
    station = await session.scalar(
        select(Station).where(Station.id == station_id).options(joinedload(Station.site))
    )
    if station is None or not station.active:
        raise NotFound(f"No station has the id {station_id}.")
    return station


async def site_of(session: AsyncSession, site_id: int) -> Site:
    site = await session.get(Site, site_id)
    assert site is not None
    return site


async def site_of_ticket(session: AsyncSession, ticket: Ticket) -> Site:
    """The ticket's site: the one read with it (`locked`, `reload`),
    else read by its id."""
    if "site_row" not in inspect(ticket).unloaded:
        return ticket.site_row
    return await site_of(session, ticket.site_id)


async def seq_of(session: AsyncSession, site_id: int) -> int:
    return int(
        await session.scalar(select(QueueState.seq).where(QueueState.site_id == site_id)) or 0
    )


async def waiting_tickets(session: AsyncSession, site: Site, now: datetime) -> list[Waiting]:
    """The site's waiting tickets today, as the ordering needs them (no ORM objects: a
    queue can hold hundreds)."""
    rows = await session.execute(
        select(*WAITING_COLUMNS).where(
            Ticket.site_id == site.id,
            Ticket.day == today(site, now),
            Ticket.status == TicketStatus.WAITING,
        )
    )
    return [Waiting(*row) for row in rows]


def _ahead_of_a_call() -> tuple[Exists, Exists]:
    """Whether anyone waits at the site of the statement's station (`Station`) today, and
    whether any of its stations is out of service now. Read before the queue's lock: a
    station asking again and again while nobody waits (most calls of a quiet hour) costs
    neither the lock nor SQLite's writer's turn, and a call at a site with no outage reads
    none. The site's local day is within a day of UTC's (a ticket waiting from the day
    before, not closed, only sends the call the long way: under the lock, its exact day).
    (Outages are not taken under the queue's lock: read before it or under it, they are
    what is committed.) Its values: `_ahead_values`."""
    anyone = exists().where(
        Ticket.site_id == Station.site_id,
        Ticket.day.between(bindparam("first_day"), bindparam("last_day")),
        Ticket.status == TicketStatus.WAITING,
    )
    other = aliased(Station)
    outage = exists().where(
        StationOutage.station_id == other.id,
        other.site_id == Station.site_id,
        StationOutage.starts_at < bindparam("until"),
        StationOutage.ends_at > bindparam("now"),
    )
    return anyone, outage


def _ahead_values(station_id: int, now: datetime) -> dict[str, Any]:
    utc_day = now.astimezone(UTC).date()
    return {
        "station": station_id,
        "first_day": utc_day - timedelta(days=1),
        "last_day": utc_day + timedelta(days=1),
        "now": now,
        "until": now + timedelta(microseconds=1),
    }


@cache
def _station_to_call() -> Select[Station, bool, bool]:
    anyone, outage = _ahead_of_a_call()
    return (
        select(Station, anyone, outage)
        .where(Station.id == bindparam("station"))
        .options(joinedload(Station.site))
    )


@dataclass(frozen=True)
class ToCall:
    """A station about to call, with its site, and what was read with it before the
    queue's lock (`_ahead_of_a_call`)."""

    station: Station
    anyone: bool
    outage: bool


async def station_to_call(session: AsyncSession, station_id: int, now: datetime) -> ToCall:
    """The active station `station_id` with its site (404 for any other), whether anyone
    waits there and whether any of its site's stations is out of service: one statement."""
    found = await session.execute(_station_to_call(), _ahead_values(station_id, now))
    row = found.first()
    if row is None or not row[0].active:
        raise NotFound(f"No station has the id {station_id}.")
    return ToCall(row[0], bool(row[1]), bool(row[2]))


@dataclass(frozen=True)
class Calling:
    """What a call decides on, read under the queue's lock in one statement: the site's
    waiting tickets today (`with_phone`: those whose holder left a mobile number, to be
    told when their turn is near), its latest call of the day (a call that waited for the
    lock is stamped after the one made meanwhile, so the screens show the calls in the
    order they were made), and its stations in use with what each can serve, by id."""

    waiting: list[Waiting]
    latest: datetime | None
    stations: list[tuple[int, Caller]]
    with_phone: frozenset[int]


CALLING: dict[str, TypeEngine[Any]] = {
    "id": Integer(),
    "service": Integer(),
    "arrived_at": UTCDateTime(),
    "due_at": UTCDateTime(),
    "priority": Boolean(),
    "accessible": Boolean(),
    "kind": String(),
    "phone": Boolean(),
}


@cache
def _to_call() -> CompoundSelect[Any]:
    mine = (Ticket.site_id == bindparam("site"), Ticket.day == bindparam("day"))
    waiting = select(
        *union_part(0, CALLING, **WAITING_FIELDS, phone=Ticket.phone.is_not(None))
    ).where(*mine, Ticket.status == TicketStatus.WAITING)
    latest = select(*union_part(1, CALLING, arrived_at=func.max(Ticket.called_at))).where(*mine)
    stations = select(
        *union_part(2, CALLING, id=Station.id, accessible=Station.accessible, kind=Station.kind)
    ).where(Station.site_id == bindparam("site"), Station.active)
    return union_all(waiting, latest, stations)


async def to_call(session: AsyncSession, site: Site, now: datetime) -> Calling:
    values = {"site": site.id, "day": today(site, now)}
    rows = (await session.execute(_to_call(), values)).all()
    tickets = [row for row in rows if row.part == 0]
    return Calling(
        waiting=[from_model(row, Waiting) for row in tickets],
        latest=next((row.arrived_at for row in rows if row.part == 1), None),
        stations=[
            (row.id, Caller(kind=row.kind, accessible=row.accessible))
            for row in sorted((row for row in rows if row.part == 2), key=lambda row: row.id)
        ],
        with_phone=frozenset(row.id for row in tickets if row.phone),
    )


def waiting_of(ticket: Ticket) -> Waiting:
    return from_model(
        ticket,
        Waiting,
        kind=ticket.station_kind,
        accessible=ticket.requires_accessible,
        service=ticket.service_id,
    )


def out_of_service(now: datetime | BindParameter[datetime]) -> Exists:
    """Whether the station of the statement (`Station.id`) is out of service at `now`."""
    return exists().where(
        StationOutage.station_id == Station.id,
        StationOutage.starts_at <= now,
        StationOutage.ends_at > now,
    )


async def stations_in_service(session: AsyncSession, site: Site, now: datetime) -> list[Station]:
    """The site's stations in use, less those out of service at `now` (where `call_next`
    calls nobody): the stations the waiting estimates count."""
    in_use = (Station.site_id == site.id, Station.active, ~out_of_service(now))
    query = select(Station).where(*in_use)
    return list(await session.scalars(query.order_by(Station.id)))


async def sites_with_waiting(session: AsyncSession) -> list[int]:
    """The sites where some ticket waits (there or on its way), whatever its day."""
    return list(
        await session.scalars(select(Ticket.site_id).where(Ticket.status.in_(IN_LINE)).distinct())
    )


async def appointment_here(session: AsyncSession, site: Site, reference: str) -> Appointment:
    """The appointment of `reference` at `site`: 403 when it is booked at another site
    (the person checks in there), 404 when no site has it."""
    appointment = await appointment_by_reference(session, site, reference)
    if appointment is not None:
        return appointment
    if await session.scalar(
        select(Appointment.id).where(Appointment.reference == reference.strip().upper())
    ):
        raise Forbidden(
            f"This appointment is booked at another mairie than {site.name}: the "
            "person checks in there.",
            code="booked_elsewhere",
        )
    raise NotFound(f"No appointment at {site.name} has the reference {reference!r}.")


def threshold(site: Site) -> timedelta:
    """How long a ticket waits before it goes ahead of the others (`ordering`)."""
    return timedelta(minutes=site.priority_after_minutes)


def caller(station: Station) -> Caller:
    return Caller(kind=station.kind, accessible=station.accessible)


async def late_appointments(session: AsyncSession, appointment_ids: Sequence[int]) -> set[int]:
    """Which of these appointments were checked in late."""
    if not appointment_ids:
        return set()
    found = await session.scalars(
        select(Ticket.appointment_id).where(Ticket.appointment_id.in_(appointment_ids), Ticket.late)
    )
    return {appointment_id for appointment_id in found if appointment_id is not None}


def issuers(site: Site) -> frozenset[str]:
    """Who may issue a walk-in ticket at `site`: reception, and facilitators where one
    agent does both jobs (a setting of the site)."""
    reception = frozenset({"reception", "manager"})
    return reception | {"facilitator"} if site.facilitators_issue_tickets else reception


# Before a change


def late_placement(site: Site, starts_at: datetime, now: datetime) -> tuple[bool, bool]:
    """(late, keeps_time) for someone checking in at `now` for an appointment at
    `starts_at`: late past the site's tolerance; then placed as a walk-in arriving now,
    or, under the grace rule, at the booked time for the grace minutes more."""
    tolerance = starts_at + timedelta(minutes=site.check_in_late_minutes)
    if now <= tolerance:
        return False, True
    if site.late_arrival_rule == LateArrivalRule.GRACE:
        return True, now <= tolerance + timedelta(minutes=site.late_grace_minutes)
    return True, False


def check_in_allowed(site: Site, appointment: Appointment, now: datetime, day: OpenDay) -> None:
    """Refuses (409) an arrival that cannot be checked in now, saying why and what to do."""
    tz = ZoneInfo(site.timezone)
    start = appointment.starts_at.astimezone(tz)
    if appointment.status == AppointmentStatus.CHECKED_IN:
        raise Conflict("This appointment is already checked in.", code="already_checked_in")
    if appointment.status != AppointmentStatus.BOOKED:
        raise Conflict(
            f"This appointment is {appointment.status.replace('_', ' ')}: "
            "issue a walk-in ticket instead.",
            code="not_booked",
        )
    opens = appointment.starts_at - timedelta(minutes=site.check_in_early_minutes)
    closes = appointment.ends_at + timedelta(minutes=site.late_check_in_limit_minutes)
    if now < opens:
        raise Conflict(
            f"Too early: check-in opens at {opens.astimezone(tz):%H:%M} for the appointment "
            f"at {start:%H:%M} on {start:%Y-%m-%d}, {site.check_in_early_minutes} minutes "
            "before. Until then, issue a walk-in ticket if the person wants to wait.",
            code="check_in_too_early",
        )
    if now > closes:
        raise Conflict(
            f"Too late: the appointment at {start:%H:%M} ended at "
            f"{appointment.ends_at.astimezone(tz):%H:%M}, and a late arrival is checked in "
            f"up to {site.late_check_in_limit_minutes} minutes after its end. "
            "Issue a walk-in ticket instead.",
            code="check_in_too_late",
        )
    if has_closed(day, now):
        raise Conflict(
            f"{site.name} has closed for the day: the arrival cannot be checked in.",
            code="site_closed",
        )


def clean_reason(reason: str | None) -> str | None:
    """The reason staff give for a ticket issued while the site is closed, cleaned up;
    refused when it says nothing or too much."""
    if reason is None:
        return None
    clean = " ".join("".join(ch for ch in reason if ch.isprintable() or ch.isspace()).split())
    if not clean:
        raise BadRequest(
            "Say why the ticket is issued while the mairie is closed.", code="reason_missing"
        )
    if len(clean) > MAX_REASON:
        raise BadRequest(f"The reason holds at most {MAX_REASON} characters.")
    return clean


async def locked(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """The ticket read again under the site's queue lock, its row locked, with what its
    answer shows (service, station) and its site: returned as it is committed, it needs no
    reading again (`shown`)."""
    return await session.scalar(_locked(), {"ticket": ticket_id})


@cache
def _locked() -> Select[Ticket]:
    return (
        select(Ticket)
        .options(*TICKET_SHOWS, joinedload(Ticket.site_row))
        .where(Ticket.id == bindparam("ticket"))
        .with_for_update(of=Ticket)
        .execution_options(populate_existing=True)
    )


def shown(ticket: Ticket, site: Site, service: Service, station: Station | None = None) -> None:
    """Give a ticket just made what its answer shows, as `locked` reads them, without
    reading them again: its service, its station (none while it waits) and its site."""
    set_committed_value(ticket, "service", service)
    set_committed_value(ticket, "station", station)
    set_committed_value(ticket, "site_row", site)


async def reload(session: AsyncSession, ticket_id: int) -> Ticket:
    """The ticket as committed, and its site in the same statement: what its answer
    shows reads the site next (`site_of` then finds it in the session)."""
    ticket = await session.scalar(
        select(Ticket)
        .options(*TICKET_SHOWS, joinedload(Ticket.site_row))
        .where(Ticket.id == ticket_id)
    )
    return ticket or await get_ticket(session, ticket_id)  # its 404


async def held_at(session: AsyncSession, station: Station, now: datetime) -> dict[int, str]:
    """Today's tickets called to or served at `station`: their numbers, by id."""
    rows = await session.execute(
        select(Ticket.id, Ticket.number)
        .where(
            Ticket.station_id == station.id,
            Ticket.day == today(station.site, now),
            Ticket.status.in_((TicketStatus.CALLED, TicketStatus.SERVING)),
        )
        .order_by(Ticket.id)
    )
    return {ticket_id: number for ticket_id, number in rows.all()}
