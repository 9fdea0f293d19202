"""Queue operations: issue, check in, call, move tickets along, and read the queue.

Every change to a site's queue runs under that site's queue lock (advisory on
PostgreSQL; SQLite's writers take turns), takes the next `seq`, and leaves a
TicketEvent saying who did it and when.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app import locking
from app.audit import service as audit
from app.booking.contacts import texting_number
from app.booking.models import Appointment, AppointmentStatus
from app.booking.rules import APPOINTMENT, AppointmentAction
from app.booking.service import (
    appointment_by_reference,
    get_needs,
    get_service,
    move_appointment,
    new_token,
    requirement_of,
)
from app.db import Base, Database, notify, token_digest
from app.errors import BadRequest, Conflict, Forbidden, NotFound
from app.notify import outbox
from app.queue import eta, numbering
from app.queue.models import QueueCounter, QueueState, Ticket, TicketEvent, TicketStatus
from app.queue.ordering import Caller, Waiting, next_ticket
from app.queue.rules import APPOINTMENT_FOLLOWS, TICKET, TicketAction, TicketEffect, recall
from app.sites.hours import OpenDay
from app.sites.models import LateArrivalRule, Need, Service, Site, Station
from app.sites.service import get_site, site_calendar, station_outages
from app.visits import service as visits

AVERAGE_OVER_DAYS = 90
ACTIVE = (TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SERVING)
MAX_REASON = 200
# Past this long after closing time, tickets are closed without a text: it would come too late.
CLOSING_TEXT_WITHIN = timedelta(hours=1)


@dataclass(frozen=True)
class TicketView:
    """A ticket as the API and the pages show it."""

    ticket: Ticket
    position: int | None
    eta_minutes: tuple[int, int] | None


@dataclass(frozen=True)
class QueueChange:
    """What the live screens are told after a queue change commits: re-read site `site_id`."""

    site_id: int
    seq: int
    action: str


@dataclass(frozen=True)
class CalledEntry:
    number: str
    station: str
    station_id: int
    service: str
    called_at: datetime
    status: str


@dataclass(frozen=True)
class DisplayState:
    """What the lobby screens show: the latest calls, and how many wait for how long."""

    seq: int
    called: list[CalledEntry]
    waiting_count: int
    waiting_by_service: dict[str, int]
    eta_minutes: tuple[int, int] | None


@dataclass(frozen=True)
class QueueView:
    site: Site
    seq: int
    waiting: list[TicketView]
    called: list[TicketView]
    serving: list[TicketView]


# Reading


WAITING_COLUMNS = (
    Ticket.id,
    Ticket.arrived_at,
    Ticket.due_at,
    Ticket.priority,
    Ticket.station_kind,
    Ticket.requires_accessible,
    Ticket.service_id,
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


def waiting_of(ticket: Ticket) -> Waiting:
    return Waiting(
        id=ticket.id,
        arrived_at=ticket.arrived_at,
        due_at=ticket.due_at,
        priority=ticket.priority,
        kind=ticket.station_kind,
        accessible=ticket.requires_accessible,
        service=ticket.service_id,
    )


def today(site: Site, now: datetime) -> date:
    return numbering.ticket_day(now, ZoneInfo(site.timezone))


async def get_station(session: AsyncSession, station_id: int) -> Station:
    station = await session.scalar(
        select(Station).where(Station.id == station_id).options(joinedload(Station.site))
    )
    if station is None or not station.active:
        raise NotFound(f"No station has the id {station_id}.")
    return station


async def get_ticket(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await session.scalar(_ticket_query().where(Ticket.id == ticket_id))
    if ticket is None:
        raise NotFound(f"No ticket has the id {ticket_id}.")
    return ticket


async def site_of(session: AsyncSession, site_id: int) -> Site:
    site = await session.get(Site, site_id)
    assert site is not None
    return site


def _ticket_query() -> Select[Ticket]:
    return select(Ticket).options(joinedload(Ticket.service), joinedload(Ticket.station))


async def seq_of(session: AsyncSession, site_id: int) -> int:
    return int(
        await session.scalar(select(QueueState.seq).where(QueueState.site_id == site_id)) or 0
    )


async def _averages(session: AsyncSession, site: Site, now: datetime) -> dict[int, list[float]]:
    """The latest service durations, in minutes, per service, newest first."""
    rank = (
        func.row_number()
        .over(partition_by=Ticket.service_id, order_by=Ticket.finished_at.desc())
        .label("rank")
    )
    recent = (
        select(Ticket.service_id, Ticket.started_at, Ticket.finished_at, rank)
        .where(
            Ticket.site_id == site.id,
            Ticket.status == TicketStatus.DONE,
            Ticket.started_at.is_not(None),
            Ticket.finished_at > now - timedelta(days=AVERAGE_OVER_DAYS),
        )
        .subquery()
    )
    rows = await session.execute(
        select(recent.c.service_id, recent.c.started_at, recent.c.finished_at)
        .where(recent.c.rank <= eta.SAMPLE_SIZE)
        .order_by(recent.c.service_id, recent.c.rank)
    )
    durations: dict[int, list[float]] = defaultdict(list)
    for service_id, started, finished in rows:
        durations[service_id].append((finished - started).total_seconds() / 60)
    return durations


async def _views(
    session: AsyncSession,
    site: Site,
    tickets: Sequence[Ticket],
    now: datetime,
    waiting: Sequence[Waiting] | None = None,
) -> dict[int, TicketView]:
    """Positions and estimates of `tickets` among the site's waiting tickets today."""
    if all(ticket.status != TicketStatus.WAITING for ticket in tickets):
        return {ticket.id: TicketView(ticket, None, None) for ticket in tickets}
    if waiting is None:
        waiting = await waiting_tickets(session, site, now)
    forecasts = (await forecast_inputs(session, site, now)).forecast(waiting, now)
    views = {}
    for ticket in tickets:
        found = forecasts.get(ticket.id) if ticket.status == TicketStatus.WAITING else None
        if found is None:
            views[ticket.id] = TicketView(ticket, None, None)
        else:
            views[ticket.id] = TicketView(ticket, found.position, found.minutes)
    return views


@dataclass(frozen=True)
class ForecastInputs:
    """What the estimates need beyond the waiting tickets (`eta.forecast`)."""

    stations: list[eta.OpenStation]
    times: dict[int, eta.ServiceTimes]
    expected: list[Waiting]
    threshold: timedelta

    def forecast(self, waiting: Sequence[Waiting], now: datetime) -> dict[int, eta.Forecast]:
        return eta.forecast(
            waiting,
            self.stations,
            self.times,
            eta.service_times([], eta.DEFAULT_MINUTES),
            now,
            self.threshold,
            self.expected,
        )


async def forecast_inputs(session: AsyncSession, site: Site, now: datetime) -> ForecastInputs:
    """The stations in service now, when each was last seen at work today and which are
    busy since when, each service's times at the site, and the booked people due later
    today who have not checked in yet."""
    day = today(site, now)
    busy = {
        station_id: (started or called or now, service_id)
        for station_id, started, called, service_id in await session.execute(
            select(Ticket.station_id, Ticket.started_at, Ticket.called_at, Ticket.service_id).where(
                Ticket.site_id == site.id,
                Ticket.day == day,
                Ticket.status.in_((TicketStatus.CALLED, TicketStatus.SERVING)),
                Ticket.station_id.is_not(None),
            )
        )
    }
    seen: dict[int | None, datetime] = {
        station_id: at
        for station_id, at in await session.execute(
            select(TicketEvent.station_id, func.max(TicketEvent.at))
            .where(
                TicketEvent.site_id == site.id,
                TicketEvent.at > now - timedelta(hours=12),
                TicketEvent.at <= now,
                TicketEvent.station_id.is_not(None),
            )
            .group_by(TicketEvent.station_id)
        )
    }
    stations = [
        eta.OpenStation(
            _caller(station),
            last_seen=seen.get(station.id),
            busy_since=busy[station.id][0] if station.id in busy else None,
            busy_with=busy[station.id][1] if station.id in busy else None,
        )
        for station in await stations_in_service(session, site, now)
    ]
    durations = await _averages(session, site, now)
    catalog = await session.execute(select(Service.id, Service.duration_minutes))
    times = {
        service_id: eta.service_times(durations.get(service_id, []), minutes)
        for service_id, minutes in catalog
    }
    return ForecastInputs(stations, times, await _expected(session, site, now), _threshold(site))


async def _expected(session: AsyncSession, site: Site, now: datetime) -> list[Waiting]:
    """The booked people due later today (or a little late) who are not here yet, as
    waiting tickets of negative ids."""
    rows = list(
        await session.execute(
            select(Appointment.id, Appointment.starts_at, Appointment.needs, Service)
            .join(Service, Service.id == Appointment.service_id)
            .where(
                Appointment.site_id == site.id,
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.starts_at > now - timedelta(minutes=site.check_in_late_minutes),
                Appointment.starts_at <= now + eta.LATER_WITHIN,
            )
        )
    )
    codes = {code for _, _, needs, _ in rows for code in needs}
    needs: dict[str, Need] = {}
    if codes:
        found = await session.scalars(select(Need).where(Need.code.in_(codes)))
        needs = {need.code: need for need in found}
    expected = []
    for appointment_id, starts_at, codes_of, service in rows:
        need = requirement_of(service, [needs[code] for code in codes_of if code in needs])
        expected.append(
            Waiting(
                id=-appointment_id,
                arrived_at=starts_at,
                due_at=starts_at,
                kind=need.kind,
                accessible=need.accessible,
                service=service.id,
            )
        )
    return expected


def _threshold(site: Site) -> timedelta:
    return timedelta(minutes=site.priority_after_minutes)


def _caller(station: Station) -> Caller:
    return Caller(kind=station.kind, accessible=station.accessible)


async def queue(session: AsyncSession, slug: str, now: datetime) -> QueueView:
    """Today's queue of a site: who waits (in calling order), who is called, who is served."""
    site = await get_site(session, slug)
    tickets = list(
        await session.scalars(
            _ticket_query().where(
                Ticket.site_id == site.id,
                Ticket.day == today(site, now),
                Ticket.status.in_(ACTIVE),
            )
        )
    )
    views = await _views(
        session,
        site,
        tickets,
        now,
        waiting=[waiting_of(t) for t in tickets if t.status == TicketStatus.WAITING],
    )
    in_line = sorted(
        (views[t.id] for t in tickets if t.status == TicketStatus.WAITING),
        key=lambda view: (view.position or 0, view.ticket.id),
    )
    called = sorted(
        (t for t in tickets if t.status == TicketStatus.CALLED),
        key=lambda t: (t.called_at or t.arrived_at, t.id),
        reverse=True,
    )
    serving = sorted(
        (t for t in tickets if t.status == TicketStatus.SERVING),
        key=lambda t: (t.started_at, t.id),
    )
    return QueueView(
        site=site,
        seq=await seq_of(session, site.id),
        waiting=in_line,
        called=[views[t.id] for t in called],
        serving=[views[t.id] for t in serving],
    )


async def view_of(session: AsyncSession, ticket: Ticket, now: datetime) -> TicketView:
    site = await site_of(session, ticket.site_id)
    return (await _views(session, site, [ticket], now))[ticket.id]


async def views_by_token(
    session: AsyncSession, site: Site, tokens: set[str], now: datetime
) -> dict[str, TicketView]:
    """The views of several tickets of one site at once, by token."""
    tickets = list(
        await session.scalars(
            _ticket_query().where(
                Ticket.site_id == site.id,
                Ticket.token_digest.in_([token_digest(token) for token in tokens]),
            )
        )
    )
    views = await _views(session, site, tickets, now)
    return {ticket.token: views[ticket.id] for ticket in tickets}


async def by_token(session: AsyncSession, token: str, now: datetime) -> TicketView:
    """The ticket behind an usager's tracking link; 404 for anything else."""
    ticket = None
    if 16 <= len(token) <= 64:
        ticket = await session.scalar(
            _ticket_query().where(Ticket.token_digest == token_digest(token))
        )
    if ticket is None or not secrets.compare_digest(ticket.token, token):
        raise NotFound("No ticket matches this link.")
    return await view_of(session, ticket, now)


@dataclass(frozen=True)
class WaitingModel:
    """What the wait of a newcomer depends on beyond the queue itself: the stations, and
    how long a help takes at the site lately. It changes slowly: screens may keep it a
    little while."""

    stations: int
    average_minutes: float


async def stations_in_service(session: AsyncSession, site: Site, now: datetime) -> list[Station]:
    """The site's stations in use, less those out of service at `now` (where `call_next`
    calls nobody): the stations the waiting estimates count."""
    outages = await station_outages(session, site, now, now + timedelta(microseconds=1))
    out = {outage.station_id for outage in outages}
    stations = await session.scalars(
        select(Station).where(Station.site_id == site.id, Station.active).order_by(Station.id)
    )
    return [station for station in stations if station.id not in out]


async def waiting_model(session: AsyncSession, site: Site, now: datetime) -> WaitingModel:
    stations = await stations_in_service(session, site, now)
    durations = [d for found in (await _averages(session, site, now)).values() for d in found]
    default = await session.scalar(select(func.avg(Service.duration_minutes)).where(Service.active))
    return WaitingModel(
        stations=len(stations),
        average_minutes=eta.average_minutes(durations, float(default or 30)),
    )


async def display(
    session: AsyncSession,
    site: Site,
    now: datetime,
    *,
    model: WaitingModel | None = None,
    calls: int = 12,
) -> DisplayState:
    """The lobby screens' state: today's latest calls first, the waiting count and the wait
    a newcomer may expect."""
    day = today(site, now)
    called = await session.execute(
        select(
            Ticket.number, Station.name, Station.id, Service.code, Ticket.called_at, Ticket.status
        )
        .select_from(Ticket)
        .join(Station, Station.id == Ticket.station_id)
        .join(Service, Service.id == Ticket.service_id)
        .where(Ticket.site_id == site.id, Ticket.day == day, Ticket.called_at.is_not(None))
        .order_by(Ticket.called_at.desc(), Ticket.id.desc())
        .limit(calls)
    )
    waiting = await session.execute(
        select(Service.code, func.count())
        .select_from(Ticket)
        .join(Service, Service.id == Ticket.service_id)
        .where(Ticket.site_id == site.id, Ticket.day == day, Ticket.status == TicketStatus.WAITING)
        .group_by(Service.code)
    )
    by_service = {code: int(count) for code, count in waiting}
    count = sum(by_service.values())
    model = model or await waiting_model(session, site, now)
    return DisplayState(
        seq=await seq_of(session, site.id),
        called=[
            CalledEntry(number, station, station_id, code, called_at, status)
            for number, station, station_id, code, called_at, status in called
            if called_at is not None
        ],
        waiting_count=count,
        waiting_by_service=by_service,
        eta_minutes=eta.waiting_range(count, model.stations, model.average_minutes),
    )


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


# Writing


async def _lock(session: AsyncSession, site_id: int) -> None:
    await locking.lock(session, [locking.lock_key(locking.Scope.QUEUE, site_id)])


def _upsert(session: AsyncSession) -> Callable[[type[Base]], Any]:
    """INSERT … ON CONFLICT, which both databases have, spelt by each one's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


async def _next_seq(session: AsyncSession, site_id: int) -> int:
    insert = _upsert(session)
    statement = (
        insert(QueueState)
        .values(site_id=site_id, seq=1)
        .on_conflict_do_update(
            index_elements=[QueueState.site_id], set_={"seq": QueueState.seq + 1}
        )
        .returning(QueueState.seq)
    )
    return int((await session.execute(statement)).scalar_one())


async def _next_number(session: AsyncSession, site_id: int, day: date, letter: str) -> str:
    insert = _upsert(session)
    statement = (
        insert(QueueCounter)
        .values(site_id=site_id, day=day, letter=letter, last=1)
        .on_conflict_do_update(
            index_elements=[QueueCounter.site_id, QueueCounter.day, QueueCounter.letter],
            set_={"last": QueueCounter.last + 1},
        )
        .returning(QueueCounter.last)
    )
    counter = int((await session.execute(statement)).scalar_one())
    return numbering.ticket_number(letter, counter)


async def _record(
    session: AsyncSession,
    ticket: Ticket,
    action: str,
    now: datetime,
    *,
    agent_id: int | None,
    station_id: int | None = None,
    reason: str | None = None,
) -> None:
    seq = await _next_seq(session, ticket.site_id)
    notify(session, QueueChange(ticket.site_id, seq, action))
    ticket.updated_at = now
    session.add(
        TicketEvent(
            site_id=ticket.site_id,
            ticket_id=ticket.id,
            seq=seq,
            action=action,
            agent_id=agent_id,
            station_id=station_id if station_id is not None else ticket.station_id,
            at=now,
            reason=reason,
        )
    )
    if agent_id is not None:
        audit.record(
            session,
            f"ticket.{action}",
            at=now,
            agent_id=agent_id,
            site_id=ticket.site_id,
            target=f"ticket:{ticket.number}",
            ticket=ticket.id,
            station=station_id if station_id is not None else ticket.station_id,
            **({"forced": True} if reason else {}),
        )


async def _new_ticket(
    session: AsyncSession,
    site: Site,
    service: Service,
    *,
    needs: list[str],
    kind: str,
    accessible: bool,
    now: datetime,
    appointment: Appointment | None = None,
    priority: bool = False,
    phone: str | None = None,
    keeps_time: bool = True,
    late: bool = False,
) -> Ticket:
    """A waiting ticket; an appointment's keeps its booked time in the queue unless
    `keeps_time` is false (a late arrival placed as a walk-in arriving now)."""
    day = today(site, now)
    letter = numbering.letter(appointment=appointment is not None, double=kind == "double")
    # Arrivals follow the issue order (numbers, ids): a request that read the clock before
    # another one took the queue's lock first does not arrive before it.
    latest = await session.scalar(
        select(func.max(Ticket.arrived_at)).where(Ticket.site_id == site.id, Ticket.day == day)
    )
    arrived_at = max(now, latest) if latest is not None else now
    ticket = Ticket(
        site_id=site.id,
        day=day,
        number=await _next_number(session, site.id, day, letter),
        token=new_token(),
        service_id=service.id,
        needs=needs,
        station_kind=kind,
        requires_accessible=accessible,
        priority=priority,
        phone=phone,
        appointment_id=appointment.id if appointment else None,
        due_at=appointment.starts_at if appointment and keeps_time else None,
        late=late,
        status=TicketStatus.WAITING,
        arrived_at=arrived_at,
        call_count=0,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    return ticket


async def issue_walk_in(
    db: Database,
    slug: str,
    *,
    service_code: str,
    needs: tuple[str, ...] = (),
    priority: bool = False,
    phone: str | None = None,
    agent_id: int | None,
    now: datetime,
    force_reason: str | None = None,
) -> Ticket:
    """A walk-in's ticket, numbered atomically for the site's day. Its phone, if given, is
    for a text when the turn is near: a mobile number only. While the mairie is closed,
    only staff forcing it with a reason (kept in the ticket's history) get one."""
    phone = texting_number(phone) if phone else None
    reason = _force_reason(force_reason)
    async with db.writing() as session:
        site = await get_site(session, slug)
        service = await get_service(session, service_code)
        chosen = await get_needs(session, needs)
        need = requirement_of(service, chosen)
        if is_open(await open_day(session, site, now), now):
            reason = None
        elif reason is None:
            raise Conflict(
                f"{site.name} is closed now: no walk-in ticket is issued while it is closed. "
                "Staff may force one, saying why.",
                code="site_closed",
            )
        await _lock(session, site.id)
        ticket = await _new_ticket(
            session,
            site,
            service,
            needs=[n.code for n in chosen],
            kind=need.kind,
            accessible=need.accessible,
            now=now,
            priority=priority,
            phone=phone,
        )
        await _record(session, ticket, "issued", now, agent_id=agent_id, reason=reason)
        ticket_id = ticket.id
    return await _reload(db, ticket_id)


async def check_in(
    db: Database, slug: str, reference: str, *, agent_id: int | None, now: datetime
) -> Ticket:
    """The booked person has arrived: their ticket joins the queue for their booked time."""
    async with db.writing() as session:
        site = await get_site(session, slug)
        appointment = await appointment_by_reference(session, site, reference)
        if appointment is None:
            if await session.scalar(
                select(Appointment.id).where(Appointment.reference == reference.strip().upper())
            ):
                raise Forbidden(
                    f"This appointment is booked at another mairie than {site.name}: the "
                    "person checks in there.",
                    code="booked_elsewhere",
                )
            raise NotFound(f"No appointment at {site.name} has the reference {reference!r}.")
        await _lock(session, site.id)
        await session.refresh(appointment, with_for_update=True)
        _check_in_allowed(site, appointment, now, await open_day(session, site, now))
        late, keeps_time = late_placement(site, appointment.starts_at, now)
        service = await session.get(Service, appointment.service_id)
        assert service is not None
        chosen = await get_needs(session, tuple(appointment.needs))
        need = requirement_of(service, chosen)
        ticket = await _new_ticket(
            session,
            site,
            service,
            needs=list(appointment.needs),
            kind=need.kind,
            accessible=need.accessible,
            now=now,
            appointment=appointment,
            phone=appointment.phone,
            keeps_time=keeps_time,
            late=late,
        )
        move_appointment(appointment, AppointmentAction.CHECK_IN, now)
        await _record(
            session, ticket, "checked_in_late" if late else "checked_in", now, agent_id=agent_id
        )
        ticket_id = ticket.id
    return await _reload(db, ticket_id)


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


def _check_in_allowed(site: Site, appointment: Appointment, now: datetime, day: OpenDay) -> None:
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


def _force_reason(reason: str | None) -> str | None:
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


async def open_day(session: AsyncSession, site: Site, now: datetime) -> OpenDay:
    """The site's opening intervals on its local day of `now`."""
    day = today(site, now)
    return (await site_calendar(session, site, day, day)).day(day)


def is_open(day: OpenDay, now: datetime) -> bool:
    return any(start <= now < end for start, end in day.intervals)


def closing_time(day: OpenDay) -> datetime | None:
    """The end of the day's last opening range; None on a day the site stays closed."""
    return day.intervals[-1][1] if day.intervals else None


def has_closed(day: OpenDay, now: datetime) -> bool:
    """Closed now, and for the rest of the day."""
    return not is_open(day, now) and not any(start > now for start, _ in day.intervals)


async def call_next(
    db: Database, station_id: int, *, agent_id: int | None, now: datetime
) -> Ticket | None:
    """Give `station` the next ticket it may serve; None when nobody is waiting for it."""
    async with db.writing() as session:
        station = await get_station(session, station_id)
        site = station.site
        if await station_outages(session, site, now, now + timedelta(microseconds=1), station.id):
            raise Conflict(
                f"{station.name} is out of service now: call from another station.",
                code="station_out_of_service",
            )
        await _lock(session, site.id)
        waiting = await waiting_tickets(session, site, now)
        in_service = [_caller(s) for s in await stations_in_service(session, site, now)]
        chosen = next_ticket(waiting, _caller(station), now, _threshold(site), in_service)
        if chosen is None:
            return None
        ticket = await session.get_one(Ticket, chosen.id, with_for_update=True)
        ticket.status = TICKET.move(ticket.status, TicketAction.CALL).to
        ticket.station_id = station.id
        ticket.called_at = now
        ticket.first_called_at = ticket.first_called_at or now
        ticket.call_count = 1
        await _record(session, ticket, "called", now, agent_id=agent_id)
        await _tell_those_whose_turn_is_near(
            session, site, [w for w in waiting if w.id != ticket.id], now
        )
        ticket_id = ticket.id
    return await _reload(db, ticket_id)


REFUSALS = {
    TicketAction.RECALL: "Only a called ticket can be called again.",
    TicketAction.START: "Only a called ticket can start being served.",
    TicketAction.FINISH: "Only a ticket being served can be finished.",
    TicketAction.NO_SHOW: "Only a called ticket can be marked absent.",
    TicketAction.CANCEL: "Only a waiting or called ticket can be cancelled.",
    TicketAction.TRANSFER: "A ticket that is done, absent or cancelled cannot be transferred.",
}


@dataclass
class _Moving:
    """A ticket being moved by `act()`, with what its effects need."""

    session: AsyncSession
    ticket: Ticket
    site: Site
    now: datetime
    agent_id: int | None
    report: visits.VisitReport | None
    service_code: str | None
    station_kind: str | None


async def act(
    db: Database,
    ticket_id: int,
    action: str,
    *,
    agent_id: int | None,
    now: datetime,
    service_code: str | None = None,
    station_kind: str | None = None,
    report: visits.VisitReport | None = None,
) -> Ticket:
    """Move a ticket along: recall, start, finish, no_show, cancel or transfer, as the
    ticket's lifecycle (`app/queue/rules.py`) allows. Finishing records the visit from the
    facilitator's `report`."""
    asked = TicketAction(action)
    async with db.writing() as session:
        found = await session.get(Ticket, ticket_id)
        if found is None:
            raise NotFound(f"No ticket has the id {ticket_id}.")
        site = await site_of(session, found.site_id)
        await _lock(session, site.id)
        ticket = await session.get_one(
            Ticket, ticket_id, with_for_update=True, populate_existing=True
        )
        if asked not in REFUSALS or not TICKET.allows(ticket.status, asked):
            raise Conflict(
                f"{REFUSALS.get(asked, '')} Ticket {ticket.number} is "
                f"{ticket.status.replace('_', ' ')}.".lstrip(),
                code=f"cannot_{action}",
            )
        if report is not None:
            visits.check(report)
        taken = (
            recall(ticket.call_count, site.no_show_after_calls)
            if asked == TicketAction.RECALL
            else asked
        )
        move = TICKET.move(ticket.status, taken)
        ticket.status = move.to
        moving = _Moving(session, ticket, site, now, agent_id, report, service_code, station_kind)
        for effect in TicketEffect:
            if effect in move.effects:
                await TICKET_EFFECTS[effect](moving)
        follows = APPOINTMENT_FOLLOWS.get(move.to)
        if ticket.appointment_id is not None and follows is not None:
            appointment = await session.get(Appointment, ticket.appointment_id)
            if appointment is not None and APPOINTMENT.allows(appointment.status, follows):
                appointment.status = APPOINTMENT.move(appointment.status, follows).to
                appointment.updated_at = now
        recorded = "no_show" if taken == TicketAction.GIVE_UP else action
        await _record(session, ticket, recorded, now, agent_id=agent_id)
        if asked == TicketAction.TRANSFER:
            ticket.station_id = None
    return await _reload(db, ticket_id)


async def _one_more_call(moving: _Moving) -> None:
    moving.ticket.call_count += 1
    moving.ticket.called_at = moving.now


async def _started(moving: _Moving) -> None:
    moving.ticket.started_at = moving.now


async def _finished(moving: _Moving) -> None:
    moving.ticket.finished_at = moving.now


async def _record_visit(moving: _Moving) -> None:
    await _visit_over(
        moving.session, moving.ticket, moving.site, moving.report, moving.agent_id, moving.now
    )


async def _back_in_queue(moving: _Moving) -> None:
    await _transfer(moving.session, moving.ticket, moving.service_code, moving.station_kind)


async def _not_through_act(moving: _Moving) -> None:
    raise AssertionError("calling and closing are not moves of act()")


TICKET_EFFECTS: dict[TicketEffect, Callable[[_Moving], Awaitable[None]]] = {
    TicketEffect.FIRST_CALL: _not_through_act,  # call_next()
    TicketEffect.ONE_MORE_CALL: _one_more_call,
    TicketEffect.STAMP_STARTED: _started,
    TicketEffect.STAMP_FINISHED: _finished,
    TicketEffect.RECORD_VISIT: _record_visit,
    TicketEffect.BACK_IN_QUEUE: _back_in_queue,
    TicketEffect.TELL_CLOSED: _not_through_act,  # close_waiting()
}


async def _visit_over(
    session: AsyncSession,
    ticket: Ticket,
    site: Site,
    report: visits.VisitReport | None,
    agent_id: int | None,
    now: datetime,
) -> None:
    """Record the visit and write its follow-up."""
    recorded = await visits.record(
        session, ticket, site, report or visits.VisitReport(), agent_id=agent_id, now=now
    )
    service = await session.get_one(Service, ticket.service_id)
    escalation = recorded.escalation
    await outbox.visit_over(
        session,
        ticket,
        site,
        service.name,
        now,
        done=[s.name for s in recorded.services],
        outcome=recorded.visit.outcome,
        escalation=(
            {"reference": escalation.reference, "department": escalation.department.name}
            if escalation
            else None
        ),
    )


async def _tell_those_whose_turn_is_near(
    session: AsyncSession, site: Site, waiting: list[Waiting], now: datetime
) -> None:
    """A text to each walk-in with a phone number who is now among the next few."""
    if site.turn_near_position < 1:
        return
    with_phone = list(
        await session.scalars(
            select(Ticket)
            .where(
                Ticket.site_id == site.id,
                Ticket.day == today(site, now),
                Ticket.status == TicketStatus.WAITING,
                Ticket.phone.is_not(None),
            )
            .options(joinedload(Ticket.service))
        )
    )
    forecasts = (await forecast_inputs(session, site, now)).forecast(waiting, now)
    for ticket in with_phone:
        found = forecasts.get(ticket.id)
        if found is not None and found.position <= site.turn_near_position:
            await outbox.turn_near(session, ticket, site, ticket.service.name, now)


async def _transfer(
    session: AsyncSession, ticket: Ticket, service_code: str | None, station_kind: str | None
) -> None:
    """Back in the queue for another service or station kind; the arrival time is kept."""
    if service_code is None and station_kind is None:
        raise BadRequest("Say where to transfer the ticket: a service, a station kind, or both.")
    if station_kind is not None and station_kind not in ("standard", "double"):
        raise BadRequest("The station kind is standard or double.")
    if service_code is not None:
        service = await get_service(session, service_code)
        chosen = await get_needs(session, tuple(ticket.needs))
        ticket.service_id = service.id
        ticket.station_kind = requirement_of(service, chosen).kind
    if station_kind is not None:
        ticket.station_kind = station_kind
    ticket.called_at = None
    ticket.call_count = 0
    ticket.started_at = None


async def close_waiting(db: Database, now: datetime) -> int:
    """At closing time (the end of the day's last opening range), the tickets still waiting
    are closed and their holders told by text; called or served ones are left alone, as are
    tickets staff forced after closing (until the next day). Safe on every instance at once:
    each site's queue lock, and rows already claimed elsewhere are skipped. How many closed."""
    async with db.session() as session:
        site_ids = list(
            await session.scalars(
                select(Ticket.site_id).where(Ticket.status == TicketStatus.WAITING).distinct()
            )
        )
    closed = 0
    for site_id in site_ids:
        async with db.writing() as session:
            site = await site_of(session, site_id)
            day = today(site, now)
            closing = closing_time(await open_day(session, site, now))
            due = Ticket.day < day
            if closing is not None and now >= closing:
                due = due | ((Ticket.day == day) & (Ticket.arrived_at < closing))
            await _lock(session, site.id)
            tickets = list(
                await session.scalars(
                    _ticket_query()
                    .where(Ticket.site_id == site.id, Ticket.status == TicketStatus.WAITING, due)
                    .order_by(Ticket.id)
                    .with_for_update(skip_locked=True, of=Ticket)
                )
            )
            for ticket in tickets:
                ticket.status = TICKET.move(ticket.status, TicketAction.CLOSE).to
                await _record(session, ticket, "closed", now, agent_id=None)
                if (
                    closing is not None
                    and ticket.day == day
                    and now - closing < CLOSING_TEXT_WITHIN
                ):
                    await outbox.queue_closed(session, ticket, site, ticket.service.name, now)
            closed += len(tickets)
    return closed


async def _reload(db: Database, ticket_id: int) -> Ticket:
    async with db.session() as session:
        return await get_ticket(session, ticket_id)
