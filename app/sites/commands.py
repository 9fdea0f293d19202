"""Running a mairie: its booking and message settings, its stations and their outages, its
weekly hours, dated exceptions and closures.

Each change is checked in plain words before the database could refuse it, and is
written with its audit event in one transaction. A change that strands booked
appointments (a station out of service or changed, hours cut, a closure) moves each to
another suitable station free at the same time, or calls it off (`called_off`: it frees
its station, sends no reminder, and its person is offered the nearest free slots, to take
one from their private page); either way the person is told once, through the outbox.
Removing the closure or outage later does not bring a called-off appointment back.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import locking
from app.accounts.models import Agent
from app.accounts.service import other_site, site_to_run
from app.audit import service as audit
from app.booking import service as booking
from app.booking.models import RELEASED, Appointment, AppointmentStatus
from app.booking.service import is_overlap
from app.booking.slots import (
    Booked,
    Holding,
    NeedEffect,
    Requirement,
    StationInfo,
    rehome,
    requirement,
)
from app.db import Database
from app.errors import BadRequest, Conflict, Invalid, NotFound, Problem, refuse
from app.notify import outbox
from app.sites.hours import WEEKDAYS, local_instant
from app.sites.models import (
    STATION_KINDS,
    Closure,
    HoursException,
    LateArrivalRule,
    Need,
    Service,
    Site,
    Station,
    StationOutage,
    WeeklyHours,
)
from app.sites.service import (
    local_today,
    site_calendar,
    station_outages,
)

MAX_RANGES_PER_DAY = 4
MAX_REASON = 200
MAX_STATION_NAME = 60
LONGEST_PERIOD = timedelta(days=366)


def _clean_text(value: str, field_name: str, limit: int, *, required: bool) -> str:
    """One line of printable text, spaces folded, at most `limit` characters."""
    text = " ".join(value.split())
    if required and not text:
        raise Invalid.one(field_name, "Give a name.", "Indiquez un nom.")
    if len(text) > limit or not text.isprintable():
        raise Invalid.one(
            field_name,
            f"Write at most {limit} printable characters.",
            f"Écrivez au plus {limit} caractères lisibles.",
        )
    return text


# Settings


@dataclass(frozen=True)
class Bound:
    low: int
    high: int
    english: str
    french: str
    unit_en: str = ""
    unit_fr: str = ""

    def problem(self, field_name: str, value: int) -> Problem | None:
        if self.low <= value <= self.high:
            return None
        return Problem(
            field_name,
            f"{self.english} must be between {self.low} and {self.high}{self.unit_en}.",
            f"{self.french} doit aller de {self.low} à {self.high}{self.unit_fr}.",
        )


BOUNDS: dict[str, Bound] = {
    "walk_in_percent": Bound(
        0,
        100,
        "The share of station time kept for walk-ins",
        "La part du temps des postes gardée pour les visiteurs sans rendez-vous",
        " %",
        " %",
    ),
    "booking_min_notice_minutes": Bound(
        0,
        10080,
        "The minimum notice before an appointment",
        "Le délai minimum avant un rendez-vous",
        " minutes",
        " minutes",
    ),
    "booking_horizon_days": Bound(
        1,
        366,
        "How far ahead people may book",
        "La période ouverte à la réservation",
        " days",
        " jours",
    ),
    "max_future_bookings_per_contact": Bound(
        1,
        20,
        "The number of appointments to come per person",
        "Le nombre de rendez-vous à venir par personne",
    ),
    "check_in_early_minutes": Bound(
        0,
        240,
        "How early people may check in",
        "L'avance permise pour l'arrivée",
        " minutes",
        " minutes",
    ),
    "check_in_late_minutes": Bound(
        0,
        240,
        "The lateness still counted as on time",
        "Le retard toléré (la personne garde sa place de rendez-vous)",
        " minutes",
        " minutes",
    ),
    "late_grace_minutes": Bound(
        0,
        60,
        "The grace past that lateness, under the grace rule",
        "Le délai de grâce au-delà de ce retard (règle « délai de grâce »)",
        " minutes",
        " minutes",
    ),
    "late_check_in_limit_minutes": Bound(
        0,
        240,
        "How long after an appointment's end a late arrival is still checked in",
        "Le temps après la fin du rendez-vous où une arrivée en retard est encore acceptée",
        " minutes",
        " minutes",
    ),
    "priority_after_minutes": Bound(
        1,
        480,
        "The wait after which a ticket goes first",
        "L'attente après laquelle un ticket devient prioritaire",
        " minutes",
        " minutes",
    ),
    "no_show_after_calls": Bound(
        1,
        10,
        "The number of calls before a ticket is marked absent",
        "Le nombre d'appels avant de marquer un ticket absent",
    ),
    "turn_near_position": Bound(
        0,
        20,
        "The position at which people are told their turn is near",
        "La position à laquelle on prévient que le tour approche",
    ),
    "service_level_minutes": Bound(
        1,
        240,
        "The service level's wait",
        "L'attente visée pour le niveau de service",
        " minutes",
        " minutes",
    ),
    "service_level_goal": Bound(
        1,
        100,
        "The service level's goal",
        "L'objectif de niveau de service",
        " %",
        " %",
    ),
}
REMINDER_HOURS = Bound(0, 168, "Each reminder", "Chaque rappel", " hours before", " heures avant")
MAX_REMINDERS = 3
CLOCK_SETTINGS = ("sms_quiet_from", "sms_quiet_until")
CHOICE_SETTINGS = ("late_arrival_rule", "facilitators_issue_tickets")
SETTINGS = (*BOUNDS, "reminder_hours", *CLOCK_SETTINGS, *CHOICE_SETTINGS)


def check_settings(values: Mapping[str, Any]) -> list[Problem]:
    """What is wrong with a site's settings (all of them, as they would be after the
    change), in plain words: the database's own checks, and what would make no sense."""
    problems = [
        problem
        for name, bound in BOUNDS.items()
        if (problem := bound.problem(name, int(values[name]))) is not None
    ]
    if values["late_arrival_rule"] not in tuple(LateArrivalRule):
        problems.append(
            Problem(
                "late_arrival_rule",
                "A late arrival is placed as a walk-in (walk_in) or with a grace (grace).",
                "Choisissez où va une personne en retard : comme sans rendez-vous, ou avec "
                "un délai de grâce.",
            )
        )
    if not isinstance(values["facilitators_issue_tickets"], bool):
        problems.append(
            Problem(
                "facilitators_issue_tickets",
                "Say yes or no: true or false.",
                "Répondez oui ou non.",
            )
        )
    hours = list(values["reminder_hours"])
    if len(hours) > MAX_REMINDERS:
        problems.append(
            Problem(
                "reminder_hours",
                f"Choose at most {MAX_REMINDERS} reminders.",
                f"Choisissez au plus {MAX_REMINDERS} rappels.",
            )
        )
    elif len(set(hours)) != len(hours):
        problems.append(
            Problem(
                "reminder_hours",
                "Each reminder must be at a different time.",
                "Deux rappels ne peuvent pas être à la même heure.",
            )
        )
    else:
        out_of_range = [REMINDER_HOURS.problem("reminder_hours", hour) for hour in hours]
        problems += [problem for problem in out_of_range if problem is not None][:1]
    notice, horizon = values["booking_min_notice_minutes"], values["booking_horizon_days"]
    if not problems and notice >= horizon * 24 * 60:
        problems.append(
            Problem(
                "booking_min_notice_minutes",
                "The minimum notice must be shorter than how far ahead people may book.",
                "Le délai minimum doit être plus court que la période ouverte à la réservation.",
            )
        )
    return problems


def settings_of(site: Site) -> dict[str, Any]:
    return {name: getattr(site, name) for name in SETTINGS}


def _audit_value(value: Any) -> Any:
    return value.strftime("%H:%M") if isinstance(value, time) else value


# Reading


async def stations_of(session: AsyncSession, site: Site) -> list[Station]:
    """All of the site's stations, those taken away included, in their order."""
    query = select(Station).where(Station.site_id == site.id)
    return list(await session.scalars(query.order_by(Station.position, Station.id)))


async def station_of(session: AsyncSession, site: Site, station_id: int) -> Station:
    station = await session.get(Station, station_id)
    if station is None:
        raise NotFound(f"{site.name} has no station with the id {station_id}.")
    if station.site_id != site.id:
        raise other_site(site, "station")
    return station


async def outages_ahead(session: AsyncSession, site: Site, now: datetime) -> list[StationOutage]:
    """The outages of the site's stations that are not over, soonest first."""
    query = (
        select(StationOutage)
        .join(Station, Station.id == StationOutage.station_id)
        .where(Station.site_id == site.id, StationOutage.ends_at > now)
        .order_by(StationOutage.starts_at, StationOutage.id)
    )
    return list(await session.scalars(query))


async def weekly_rows(session: AsyncSession, site: Site) -> list[WeeklyHours]:
    query = select(WeeklyHours).where(WeeklyHours.site_id == site.id)
    return list(
        await session.scalars(
            query.order_by(WeeklyHours.weekday, WeeklyHours.nth_in_month, WeeklyHours.opens)
        )
    )


def weekly_ranges(rows: Sequence[WeeklyHours]) -> dict[int, list[tuple[time, time]]]:
    """The ordinary opening ranges of each weekday (0 = Monday)."""
    ranges: dict[int, list[tuple[time, time]]] = {day: [] for day in range(7)}
    for row in rows:
        if row.nth_in_month is None:
            ranges[row.weekday].append((row.opens, row.closes))
    return {day: sorted(items) for day, items in ranges.items()}


@dataclass(frozen=True)
class DayException:
    """The hours of one dated day replacing the week's: closed when `ranges` is empty."""

    day: date
    ranges: list[tuple[time, time]]
    reason: str

    @property
    def closed(self) -> bool:
        return not self.ranges


async def exceptions_ahead(session: AsyncSession, site: Site, today: date) -> list[DayException]:
    """The dated exceptions from `today` on, one per day."""
    rows = await session.scalars(
        select(HoursException)
        .where(HoursException.site_id == site.id, HoursException.day >= today)
        .order_by(HoursException.day, HoursException.opens)
    )
    by_day: dict[date, list[HoursException]] = {}
    for row in rows:
        by_day.setdefault(row.day, []).append(row)
    return [
        DayException(
            day=day,
            ranges=[(r.opens, r.closes) for r in items if r.opens and r.closes],
            reason=next((r.reason for r in items if r.reason), ""),
        )
        for day, items in by_day.items()
    ]


async def closures_ahead(session: AsyncSession, site: Site, now: datetime) -> list[Closure]:
    """The closures not over yet, soonest first."""
    query = select(Closure).where(Closure.site_id == site.id, Closure.ends_at > now)
    return list(await session.scalars(query.order_by(Closure.starts_at, Closure.id)))


# What a change does to booked appointments


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
    manager may call those who take none)."""

    kept: list[Affected] = field(default_factory=list)
    to_reschedule: list[Affected] = field(default_factory=list)

    def audit_details(self) -> dict[str, list[str]]:
        return {
            "kept": [item.reference for item in self.kept],
            "to_reschedule": [item.reference for item in self.to_reschedule],
        }


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


async def _booked_ahead(
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
    appointments = await _booked_ahead(session, site, period, now)
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
    return Affected(
        reference=appointment.reference,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        service=service.code,
        service_name=service.name,
        station_id=appointment.station_id,
        station=stations[appointment.station_id].name,
        previous_station=previous,
    )


async def _place_again(
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
            await outbox.station_changed(
                session, appointment, site, service, stations[target].name, now
            )
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


async def _lock_days(session: AsyncSession, site: Site, first: date, last: date) -> None:
    """Hold off bookings on these days until the change is committed (PostgreSQL)."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    await locking.lock(
        session, [locking.lock_key(locking.Scope.BOOKING_DAY, site.id, day) for day in days]
    )


async def _lock_ahead(session: AsyncSession, site: Site, now: datetime) -> None:
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
    await _lock_days(session, site, today, last)


async def _lock_period(
    session: AsyncSession, site: Site, starts_at: datetime, ends_at: datetime
) -> None:
    tz = ZoneInfo(site.timezone)
    await _lock_days(session, site, starts_at.astimezone(tz).date(), ends_at.astimezone(tz).date())


# Changing the settings


async def change_settings(
    db: Database, agent: Agent, slug: str, changes: Mapping[str, Any], *, now: datetime
) -> Site:
    """Change some of a site's settings; the reminders of appointments to come follow a
    change of reminder hours."""
    unknown = sorted(set(changes) - set(SETTINGS))
    if unknown:
        raise BadRequest(f"Unknown setting: {', '.join(unknown)}.")
    async with db.writing() as session:
        site = await site_to_run(session, agent, slug)
        before = settings_of(site)
        after = {**before, **changes}
        refuse(check_settings(after))
        changed = {name: value for name, value in changes.items() if before[name] != value}
        for name, value in changed.items():
            setattr(site, name, list(value) if name == "reminder_hours" else value)
        if "reminder_hours" in changed:
            await _replan_reminders(session, site, before["reminder_hours"], now)
        if changed:
            audit.record(
                session,
                "site.settings_changed",
                at=now,
                agent_id=agent.id,
                site_id=site.id,
                target=f"site:{site.slug}",
                changed=sorted(changed),
                **{name: _audit_value(value) for name, value in changed.items()},
            )
    return site


async def _replan_reminders(
    session: AsyncSession, site: Site, old_hours: Sequence[int], now: datetime
) -> None:
    """Reminders at hours no longer chosen are not sent; those at new hours are planned for
    every appointment to come."""
    dropped = [hour for hour in old_hours if hour not in site.reminder_hours]
    added = [hour for hour in site.reminder_hours if hour not in old_hours]
    await outbox.reminders_dropped(session, site, dropped)
    if not added:
        return
    for appointment in await _booked_ahead(session, site, Period(since=now), now):
        await outbox.reminders_added(session, appointment, site, appointment.service, added, now)


# Stations


async def _station_name(
    session: AsyncSession, site: Site, name: str, *, station_id: int | None = None
) -> str:
    """A clean station name that no other station of the site has."""
    clean = _clean_text(name, "name", MAX_STATION_NAME, required=True)
    folded = unicodedata.normalize("NFC", clean).casefold()
    for other in await stations_of(session, site):
        if other.id != station_id and unicodedata.normalize("NFC", other.name).casefold() == folded:
            raise Conflict(
                f"{site.name} already has a station called {other.name!r}.",
                code="station_name_taken",
            )
    return clean


def _check_kind(kind: str) -> None:
    if kind not in STATION_KINDS:
        raise Invalid.one(
            "kind",
            f"A station's kind is one of {', '.join(STATION_KINDS)}.",
            "Choisissez le type de poste : standard ou double écran.",
        )


async def add_station(
    db: Database,
    agent: Agent,
    slug: str,
    *,
    name: str,
    kind: str,
    accessible: bool,
    now: datetime,
) -> Station:
    """A new station, last in the site's order, offered for booking at once."""
    _check_kind(kind)
    async with db.writing() as session:
        site = await site_to_run(session, agent, slug)
        clean = await _station_name(session, site, name)
        last = await session.scalar(
            select(func.max(Station.position)).where(Station.site_id == site.id)
        )
        station = Station(
            site_id=site.id,
            name=clean,
            kind=kind,
            accessible=accessible,
            active=True,
            position=(last or 0) + 1,
        )
        session.add(station)
        await session.flush()
        audit.record(
            session,
            "station.created",
            at=now,
            agent_id=agent.id,
            site_id=site.id,
            target=f"station:{station.id}",
            name=clean,
            kind=kind,
            accessible=accessible,
        )
    return station


@dataclass(frozen=True)
class StationChange:
    name: str | None = None
    kind: str | None = None
    accessible: bool | None = None
    active: bool | None = None


async def change_station(
    db: Database,
    agent: Agent,
    slug: str,
    station_id: int,
    change: StationChange,
    *,
    now: datetime,
) -> tuple[Station, Disruption]:
    """Rename a station, change its kind or accessibility, take it away or bring it back.
    Appointments to come that it can no longer take go to another station, or are listed."""
    if change.kind is not None:
        _check_kind(change.kind)
    async with db.writing() as session:
        site = await site_to_run(session, agent, slug)
        station = await station_of(session, site, station_id)
        wanted: dict[str, Any] = {
            "kind": change.kind,
            "accessible": change.accessible,
            "active": change.active,
        }
        if change.name is not None:
            wanted["name"] = await _station_name(session, site, change.name, station_id=station.id)
        changed = {
            key: value
            for key, value in wanted.items()
            if value is not None and getattr(station, key) != value
        }
        for key, value in changed.items():
            setattr(station, key, value)
        await session.flush()
        disruption = Disruption()
        if changed.keys() & {"kind", "accessible", "active"}:
            await _lock_ahead(session, site, now)
            disruption = await _place_again(
                session, site, Period(since=now, station_id=station.id), now
            )
        if changed:
            audit.record(
                session,
                "station.changed",
                at=now,
                agent_id=agent.id,
                site_id=site.id,
                target=f"station:{station.id}",
                changed=sorted(changed),
                **changed,
                **disruption.audit_details(),
            )
    return station, disruption


# Stations out of service


def _check_period(
    starts_at: datetime, ends_at: datetime, now: datetime, what: tuple[str, str]
) -> None:
    """A period that ends after it starts, is not over, and lasts at most a year."""
    english, french = what
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise Invalid.one(
            "starts_at",
            "Give instants with their offset (2026-12-03T09:00:00+01:00).",
            "Indiquez la date et l'heure.",
        )
    if ends_at <= starts_at:
        raise Invalid.one(
            "ends_at",
            f"The {english} must end after it starts.",
            f"La fin de la {french} doit venir après son début.",
        )
    if ends_at <= now:
        raise Invalid.one(
            "ends_at",
            f"This {english} would already be over.",
            f"Cette {french} serait déjà terminée : vérifiez les dates.",
        )
    if ends_at - starts_at > LONGEST_PERIOD:
        raise Invalid.one(
            "ends_at",
            f"A {english} lasts at most a year.",
            f"Une {french} dure au plus un an.",
        )


async def take_out_of_service(
    db: Database,
    agent: Agent,
    slug: str,
    station_id: int,
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    now: datetime,
) -> tuple[StationOutage, Disruption]:
    """Take a station out of service for a period: nothing is booked on it, nobody is
    called to it, and its appointments then go to another station or are listed."""
    _check_period(starts_at, ends_at, now, ("outage", "mise hors service"))
    clean_reason = _clean_text(reason, "reason", MAX_REASON, required=False)
    async with db.writing() as session:
        site = await site_to_run(session, agent, slug)
        await _lock_period(session, site, starts_at, ends_at)
        station = await station_of(session, site, station_id)
        outage = StationOutage(
            station_id=station.id, starts_at=starts_at, ends_at=ends_at, reason=clean_reason
        )
        session.add(outage)
        await session.flush()
        disruption = await _place_again(
            session,
            site,
            Period(since=starts_at, until=ends_at, station_id=station.id),
            now,
        )
        audit.record(
            session,
            "station.out_of_service",
            at=now,
            agent_id=agent.id,
            site_id=site.id,
            target=f"station:{station.id}",
            outage=outage.id,
            starts_at=starts_at.isoformat(),
            ends_at=ends_at.isoformat(),
            reason=clean_reason,
            **disruption.audit_details(),
        )
    return outage, disruption


async def end_outage(
    db: Database, agent: Agent, slug: str, outage_id: int, *, now: datetime
) -> None:
    """The station is back: its outage is removed, and it is offered again."""
    async with db.writing() as session:
        site = await site_to_run(session, agent, slug)
        outage = await session.get(StationOutage, outage_id)
        station = await session.get(Station, outage.station_id) if outage else None
        if outage is None or station is None:
            raise NotFound(f"{site.name} has no station outage with the id {outage_id}.")
        if station.site_id != site.id:
            raise other_site(site, "station outage")
        await session.delete(outage)
        audit.record(
            session,
            "station.back_in_service",
            at=now,
            agent_id=agent.id,
            site_id=site.id,
            target=f"station:{station.id}",
            outage=outage_id,
        )


# Weekly hours and dated exceptions


Ranges = Sequence[tuple[time, time]]


def check_ranges(ranges: Ranges, field_name: str = "ranges") -> list[Problem]:
    """Opening ranges of one day that hold together: each opens before it closes, none
    overlaps another, a few at most."""
    if len(ranges) > MAX_RANGES_PER_DAY:
        return [
            Problem(
                field_name,
                f"A day has at most {MAX_RANGES_PER_DAY} opening ranges.",
                f"Une journée compte au plus {MAX_RANGES_PER_DAY} plages d'ouverture.",
            )
        ]
    for index, (opens, closes) in enumerate(ranges):
        if opens >= closes:
            return [
                Problem(
                    f"{field_name}[{index}]",
                    f"Range {index + 1} must open before it closes ({opens:%H:%M}–{closes:%H:%M}).",
                    f"La plage {index + 1} doit ouvrir avant de fermer "
                    f"({opens:%H:%M}–{closes:%H:%M}).",
                )
            ]
    ordered = sorted(ranges)
    for (_, closes), (opens, _) in pairwise(ordered):
        if opens < closes:
            return [
                Problem(
                    field_name,
                    f"Two ranges overlap ({opens:%H:%M} is before {closes:%H:%M}).",
                    f"Deux plages se chevauchent ({opens:%H:%M} avant {closes:%H:%M}).",
                )
            ]
    return []


def _range_texts(ranges: Ranges) -> list[str]:
    return [f"{opens:%H:%M}-{closes:%H:%M}" for opens, closes in sorted(ranges)]


async def set_weekday_hours(
    db: Database, agent: Agent, slug: str, weekday: int, ranges: Ranges, *, now: datetime
) -> Disruption:
    """Replace a weekday's ordinary opening ranges (none: closed that day). Rows kept for
    one occurrence in the month (`nth_in_month`) stay as they are."""
    if not 0 <= weekday <= 6:
        raise BadRequest(f"A weekday is one of {', '.join(WEEKDAYS)}.")
    refuse(check_ranges(ranges))
    async with db.writing() as session:
        site = await site_to_run(session, agent, slug)
        await _lock_ahead(session, site, now)
        await session.execute(
            delete(WeeklyHours).where(
                WeeklyHours.site_id == site.id,
                WeeklyHours.weekday == weekday,
                WeeklyHours.nth_in_month.is_(None),
            )
        )
        session.add_all(
            WeeklyHours(site_id=site.id, weekday=weekday, opens=opens, closes=closes)
            for opens, closes in sorted(ranges)
        )
        await session.flush()
        disruption = await _place_again(session, site, Period(since=now), now)
        audit.record(
            session,
            "hours.changed",
            at=now,
            agent_id=agent.id,
            site_id=site.id,
            target=f"site:{site.slug}",
            weekday=WEEKDAYS[weekday],
            ranges=_range_texts(ranges),
            **disruption.audit_details(),
        )
    return disruption


async def set_exception(
    db: Database,
    agent: Agent,
    slug: str,
    day: date,
    ranges: Ranges,
    *,
    reason: str,
    now: datetime,
) -> tuple[DayException, Disruption]:
    """Give one dated day its own hours (none: closed all day), replacing any it had; and
    what that did to the day's appointments."""
    refuse(check_ranges(ranges))
    clean_reason = _clean_text(reason, "reason", MAX_REASON, required=False)
    async with db.writing() as session:
        site = await site_to_run(session, agent, slug)
        if day < local_today(site, now):
            raise Invalid.one(
                "day",
                "This day is past.",
                "Ce jour est passé : choisissez aujourd'hui ou un jour à venir.",
            )
        await _lock_days(session, site, day, day)
        await session.execute(
            delete(HoursException).where(
                HoursException.site_id == site.id, HoursException.day == day
            )
        )
        rows = [
            HoursException(site_id=site.id, day=day, opens=o, closes=c, reason=clean_reason)
            for o, c in sorted(ranges)
        ] or [HoursException(site_id=site.id, day=day, reason=clean_reason)]
        session.add_all(rows)
        await session.flush()
        tz = ZoneInfo(site.timezone)
        since = local_instant(day, time(0), tz)
        until = local_instant(day + timedelta(days=1), time(0), tz)
        disruption = await _place_again(
            session, site, Period(since=since, until=until), now, reason=clean_reason
        )
        audit.record(
            session,
            "hours_exception.added",
            at=now,
            agent_id=agent.id,
            site_id=site.id,
            target=f"site:{site.slug}",
            day=day.isoformat(),
            ranges=_range_texts(ranges),
            reason=clean_reason,
            **disruption.audit_details(),
        )
    return DayException(day, sorted(ranges), clean_reason), disruption


async def delete_exception(
    db: Database, agent: Agent, slug: str, day: date, *, now: datetime
) -> None:
    """The day follows the week's hours again."""
    async with db.writing() as session:
        site = await site_to_run(session, agent, slug)
        removed = await session.execute(
            delete(HoursException).where(
                HoursException.site_id == site.id, HoursException.day == day
            )
        )
        if removed.rowcount == 0:  # type: ignore[attr-defined]
            raise NotFound(f"{site.name} has no special hours on {day.isoformat()}.")
        audit.record(
            session,
            "hours_exception.deleted",
            at=now,
            agent_id=agent.id,
            site_id=site.id,
            target=f"site:{site.slug}",
            day=day.isoformat(),
        )


# Closures


async def add_closure(
    db: Database,
    agent: Agent,
    slug: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    now: datetime,
) -> tuple[Closure, Disruption]:
    """Close the site for a period: nothing is offered then, and the appointments to come
    in it are listed for the manager, each person told once. Past ones stay as they are."""
    _check_period(starts_at, ends_at, now, ("closure", "fermeture"))
    clean_reason = _clean_text(reason, "reason", MAX_REASON, required=False)
    async with db.writing() as session:
        site = await site_to_run(session, agent, slug)
        await _lock_period(session, site, starts_at, ends_at)
        closure = Closure(
            site_id=site.id, starts_at=starts_at, ends_at=ends_at, reason=clean_reason
        )
        session.add(closure)
        await session.flush()
        disruption = await _place_again(
            session, site, Period(since=starts_at, until=ends_at), now, reason=clean_reason
        )
        audit.record(
            session,
            "closure.added",
            at=now,
            agent_id=agent.id,
            site_id=site.id,
            target=f"site:{site.slug}",
            closure=closure.id,
            starts_at=starts_at.isoformat(),
            ends_at=ends_at.isoformat(),
            reason=clean_reason,
            **disruption.audit_details(),
        )
    return closure, disruption


async def delete_closure(
    db: Database, agent: Agent, slug: str, closure_id: int, *, now: datetime
) -> None:
    """The closure is called off: the period is offered again."""
    async with db.writing() as session:
        site = await site_to_run(session, agent, slug)
        closure = await session.get(Closure, closure_id)
        if closure is None:
            raise NotFound(f"{site.name} has no closure with the id {closure_id}.")
        if closure.site_id != site.id:
            raise other_site(site, "closure")
        await session.delete(closure)
        audit.record(
            session,
            "closure.deleted",
            at=now,
            agent_id=agent.id,
            site_id=site.id,
            target=f"site:{site.slug}",
            closure=closure_id,
        )
