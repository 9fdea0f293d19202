"""Booked appointments a change to a mairie strands (a station out of service or changed,
hours cut, a closure): each moves to another suitable station free at the same time, or is
called off (`called_off`: it frees its station, sends no reminder, and its person is offered
the nearest free slots, to take one from their private page); either way the person is told
once, through the outbox. Removing the closure or outage later does not bring a called-off
appointment back.

A page asks its agent before a change that would call some off (`within_agreed`). Also the
locks that hold off bookings on the days a change concerns until it is committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import events, locking
from app.booking import commands as booking
from app.booking.commands import is_overlap
from app.booking.messages import about
from app.booking.models import RELEASED, Appointment, AppointmentStatus
from app.booking.slots import (
    Booked,
    Holding,
    NeedEffect,
    Requirement,
    StationInfo,
    rehome,
    requirement,
)
from app.db import writing
from app.shapes import from_model
from app.sites.models import Need, Service, Site, Station
from app.sites.queries import stations_of
from app.sites.service import local_today, site_calendar, station_outages


@dataclass(frozen=True)
class Affected:
    """A booked appointment a change concerned: where it is now, and where it was."""

    reference: str
    starts_at: datetime
    ends_at: datetime
    service: str
    service_name: str
    station_id: int
    station: str
    previous_station: str | None = None


@dataclass
class Disruption:
    """The appointments a change moved to another station (same time), and those it could
    not place, which it called off (each person offered the nearest free slots; the
    manager may call those who take none). `already`: the change was made before (a form
    sent twice), so nothing was written and nobody told again."""

    kept: list[Affected] = field(default_factory=list)
    to_reschedule: list[Affected] = field(default_factory=list)
    already: bool = False

    def audit_details(self) -> dict[str, list[str]]:
        return {
            "kept": [item.reference for item in self.kept],
            "to_reschedule": [item.reference for item in self.to_reschedule],
        }


class Unagreed(Exception):
    """A change that would call off booked appointments its agent did not agree to:
    rolled back, with what it would have done (`disruption`)."""

    def __init__(self, disruption: Disruption) -> None:
        super().__init__(f"{len(disruption.to_reschedule)} appointments would be called off")
        self.disruption = disruption


Made = Disruption | tuple[Any, Disruption]  # what a site's command that strands some returns


async def within_agreed(
    session: AsyncSession, change: Callable[[], Awaitable[Made]], agreed: Collection[str]
) -> Made:
    """`change` (a site's command), committed if every booked appointment it calls off is
    among `agreed` (their references, as the agent was shown them); else rolled back,
    nobody told, and Unagreed raised for the agent to be asked. The change itself finds
    what it strands, so what is asked is what it does; one booked since it was asked, in
    a slot another freed, is asked about again."""
    async with writing(session):
        made = await change()
        disruption = made if isinstance(made, Disruption) else made[1]
        if any(item.reference not in agreed for item in disruption.to_reschedule):
            raise Unagreed(disruption)
    return made


@dataclass(frozen=True)
class Period:
    """Which booked appointments a change may concern: those from `since` (and not
    before now) until `until`, on one station or all."""

    since: datetime
    until: datetime | None = None
    station_id: int | None = None


async def _needs_by_code(session: AsyncSession) -> dict[str, NeedEffect]:
    """Every need, withdrawn ones included: an appointment keeps the needs it was booked with."""
    return {
        need.code: NeedEffect(need.extra_minutes, need.station_kind, need.requires_accessible)
        for need in await session.scalars(select(Need))
    }


def _requirement_of(appointment: Appointment, needs: Mapping[str, NeedEffect]) -> Requirement:
    service = appointment.service
    return requirement(
        service.duration_minutes,
        service.station_kind,
        [needs[code] for code in appointment.needs if code in needs],
    )


async def booked_ahead(
    session: AsyncSession, site: Site, period: Period, now: datetime
) -> list[Appointment]:
    query = (
        select(Appointment)
        .where(
            Appointment.site_id == site.id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at >= max(now, period.since),
            Appointment.ends_at > period.since,
        )
        .options(selectinload(Appointment.service))
        .order_by(Appointment.starts_at, Appointment.id)
    )
    if period.until is not None:
        query = query.where(Appointment.starts_at < period.until)
    if period.station_id is not None:
        query = query.where(Appointment.station_id == period.station_id)
    return list(await session.scalars(query))


async def _placements(
    session: AsyncSession, site: Site, period: Period, now: datetime
) -> tuple[list[Appointment], dict[int, int | None], dict[int, Station]]:
    """The booked appointments of `period` the site can no longer honour as booked, and
    where each may go (None: nowhere), with the site's stations by id."""
    appointments = await booked_ahead(session, site, period, now)
    stations = {station.id: station for station in await stations_of(session, site)}
    if not appointments:
        return [], {}, stations
    tz = ZoneInfo(site.timezone)
    starts = min(a.starts_at for a in appointments)
    ends = max(a.ends_at for a in appointments)
    first, last = starts.astimezone(tz).date(), ends.astimezone(tz).date()
    calendar = await site_calendar(session, site, first, last)
    taken_rows = await session.execute(
        select(
            Appointment.id, Appointment.station_id, Appointment.starts_at, Appointment.ends_at
        ).where(
            Appointment.site_id == site.id,
            Appointment.status.not_in(RELEASED),
            Appointment.starts_at < ends,
            Appointment.ends_at > starts,
        )
    )
    taken = {row_id: Booked(station, start, end) for row_id, station, start, end in taken_rows}
    outages = await station_outages(session, site, starts, ends)
    needs = await _needs_by_code(session)
    placed = rehome(
        [
            Holding(a.id, a.station_id, a.starts_at, a.ends_at, _requirement_of(a, needs))
            for a in appointments
        ],
        list(calendar.days(first, last)),
        [
            StationInfo(s.id, s.kind, s.accessible, s.position)
            for s in stations.values()
            if s.active
        ],
        taken,
        [Booked(o.station_id, o.starts_at, o.ends_at) for o in outages],
        tz,
    )
    return [a for a in appointments if a.id in placed], placed, stations


def _affected(
    appointment: Appointment,
    service: Service,
    stations: Mapping[int, Station],
    previous: str | None = None,
) -> Affected:
    return from_model(
        appointment,
        Affected,
        service=service.code,
        service_name=service.name,
        station=stations[appointment.station_id].name,
        previous_station=previous,
    )


async def place_again(
    session: AsyncSession, site: Site, period: Period, now: datetime, *, reason: str = ""
) -> Disruption:
    """Move the appointments of `period` a change stranded to another station free at the
    same time, or call them off (offering the nearest free slots, found once the others
    are placed); tell each person once."""
    appointments, placed, stations = await _placements(session, site, period, now)
    disruption = Disruption()
    stranded = []
    for appointment in appointments:
        service = appointment.service
        target = placed[appointment.id]
        previous = stations[appointment.station_id].name
        if target is not None and await _move_to(session, appointment, target, now):
            changed = events.AppointmentStationChanged(
                at=now, **about(appointment, site, service), station_name=stations[target].name
            )
            await events.record(session, changed)
            disruption.kept.append(_affected(appointment, service, stations, previous))
            continue
        stranded.append(appointment)
    offers = await booking.nearest_free(session, site, stranded, now)
    for appointment in stranded:
        disruption.to_reschedule.append(_affected(appointment, appointment.service, stations))
        await booking.call_off(
            session,
            appointment,
            site,
            appointment.service,
            reason=reason,
            offered=offers[appointment.id],
            now=now,
        )
    return disruption


async def _move_to(
    session: AsyncSession, appointment: Appointment, station_id: int, now: datetime
) -> bool:
    """Hand the appointment to another station at the same time; False if that station
    was taken meanwhile (PostgreSQL's exclusion constraint says so)."""
    try:
        async with session.begin_nested():
            # Same time, another station: what its calendar file says changes (it names
            # the station), so the appointment takes a new version.
            appointment.station_id = station_id
            appointment.sequence += 1
            appointment.updated_at = now
            await session.flush()
    except IntegrityError as exc:
        if not is_overlap(exc):
            raise
        await session.refresh(appointment)  # the savepoint's rollback expired it
        return False
    return True


async def to_reschedule(session: AsyncSession, site: Site, now: datetime) -> list[Affected]:
    """The appointments to come the mairie called off and whose person has not taken
    another slot yet, and any booked one the site could not honour as booked: for the
    manager to call, by time."""
    appointments, _, stations = await _placements(session, site, Period(since=now), now)
    called_off = await session.scalars(
        select(Appointment)
        .where(
            Appointment.site_id == site.id,
            Appointment.status == AppointmentStatus.CALLED_OFF,
            Appointment.rebooked_as_id.is_(None),
            Appointment.starts_at >= now,
        )
        .options(selectinload(Appointment.service))
    )
    found = sorted([*appointments, *called_off], key=lambda a: (a.starts_at, a.id))
    return [_affected(a, a.service, stations) for a in found]


async def lock_days(session: AsyncSession, site: Site, first: date, last: date) -> None:
    """Hold off bookings on these days until the change is committed (PostgreSQL)."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    await locking.lock(session, locking.day_locks(site.id, *days))


async def lock_ahead(session: AsyncSession, site: Site, now: datetime) -> None:
    """Lock every day that holds or may get a booking: from today to the horizon, or to the
    last booked appointment if it lies further."""
    today = local_today(site, now)
    last = today + timedelta(days=site.booking_horizon_days)
    furthest = await session.scalar(
        select(func.max(Appointment.starts_at)).where(
            Appointment.site_id == site.id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at >= now,
        )
    )
    if furthest is not None:
        last = max(last, furthest.astimezone(ZoneInfo(site.timezone)).date())
    await lock_days(session, site, today, last)


async def lock_period(
    session: AsyncSession, site: Site, starts_at: datetime, ends_at: datetime
) -> None:
    tz = ZoneInfo(site.timezone)
    await lock_days(session, site, starts_at.astimezone(tz).date(), ends_at.astimezone(tz).date())
