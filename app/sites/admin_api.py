"""The administration of mairies over HTTP: settings, stations and their outages, weekly
hours, dated exceptions and closures. Managers run their own mairies, administrators all."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from app import bounds
from app.accounts.guards import STAFF_SECURITY
from app.accounts.models import Agent
from app.accounts.service import administered_sites, site_to_run
from app.db import Database
from app.errors import BadRequest, Invalid
from app.problems import problem_responses
from app.sites import commands as service
from app.sites.commands import BOUNDS, REMINDER_HOURS, Affected, Disruption
from app.sites.hours import WEEKDAYS
from app.sites.models import Closure, Site, Station, StationOutage
from app.sites.schemas import Slug
from app.sites.service import get_site, local_today

Id = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
Day = Annotated[date, PathParameter(description="YYYY-MM-DD")]
Weekday = Annotated[
    str, PathParameter(pattern=r"^(mon|tue|wed|thu|fri|sat|sun)$", description="mon … sun")
]
# Checked by `clock_of`, which says what is wrong in plain words.
Clock = Annotated[
    str, msgspec.Meta(max_length=8, description="Local wall-clock time, HH:MM", examples=["08:30"])
]
CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")  # ASCII only: \d takes "٣"
Aware = Annotated[datetime, msgspec.Meta(tz=True, description="ISO 8601 with an offset")]
Reason = Annotated[str, msgspec.Meta(max_length=200)]
StationName = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
Kind = Literal["standard", "double"]
LateRule = Annotated[
    Literal["walk_in", "grace"],
    msgspec.Meta(
        description="Where a late arrival goes: as a walk-in arriving now, or at the booked "
        "time for the grace minutes past the tolerance"
    ),
]


def _within(name: str) -> msgspec.Meta:
    bound = BOUNDS[name]
    return msgspec.Meta(ge=bound.low, le=bound.high, description=bound.english)


ReminderHour = Annotated[int, msgspec.Meta(ge=REMINDER_HOURS.low, le=REMINDER_HOURS.high)]


class SiteOut(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    address: str


class SettingsOut(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    walk_in_percent: int
    booking_min_notice_minutes: int
    booking_horizon_days: int
    max_future_bookings_per_contact: int
    check_in_early_minutes: int
    check_in_late_minutes: int
    priority_after_minutes: int
    no_show_after_calls: int
    reminder_hours: list[int]
    sms_quiet_from: str
    sms_quiet_until: str
    turn_near_position: int
    service_level_minutes: int
    service_level_goal: int
    late_arrival_rule: LateRule
    late_grace_minutes: int
    late_check_in_limit_minutes: int
    facilitators_issue_tickets: bool


class SettingsChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The settings to change; those left out stay as they are."""

    walk_in_percent: Annotated[int, _within("walk_in_percent")] | None = None
    booking_min_notice_minutes: Annotated[int, _within("booking_min_notice_minutes")] | None = None
    booking_horizon_days: Annotated[int, _within("booking_horizon_days")] | None = None
    max_future_bookings_per_contact: (
        Annotated[int, _within("max_future_bookings_per_contact")] | None
    ) = None
    check_in_early_minutes: Annotated[int, _within("check_in_early_minutes")] | None = None
    check_in_late_minutes: Annotated[int, _within("check_in_late_minutes")] | None = None
    priority_after_minutes: Annotated[int, _within("priority_after_minutes")] | None = None
    no_show_after_calls: Annotated[int, _within("no_show_after_calls")] | None = None
    reminder_hours: (
        Annotated[list[ReminderHour], msgspec.Meta(max_length=service.MAX_REMINDERS)] | None
    ) = None
    sms_quiet_from: Clock | None = None
    sms_quiet_until: Clock | None = None
    turn_near_position: Annotated[int, _within("turn_near_position")] | None = None
    service_level_minutes: Annotated[int, _within("service_level_minutes")] | None = None
    service_level_goal: Annotated[int, _within("service_level_goal")] | None = None
    late_arrival_rule: LateRule | None = None
    late_grace_minutes: Annotated[int, _within("late_grace_minutes")] | None = None
    late_check_in_limit_minutes: Annotated[int, _within("late_check_in_limit_minutes")] | None = (
        None
    )
    facilitators_issue_tickets: bool | None = None


class StationOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    kind: str
    accessible: bool
    active: bool
    position: int


class StationIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: StationName
    kind: Kind = "standard"
    accessible: bool = False


class StationChangeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What to change; `active: false` takes the station away for good."""

    name: StationName | None = None
    kind: Kind | None = None
    accessible: bool | None = None
    active: bool | None = None


class StationRef(msgspec.Struct, kw_only=True):
    id: int
    name: str


class AffectedOut(msgspec.Struct, kw_only=True):
    reference: str
    start: datetime
    end: datetime
    service: str
    service_name: str
    station: StationRef
    previous_station: str | None


class Disrupted(msgspec.Struct, kw_only=True):
    """What a change did to booked appointments: `kept` moved to another station at the
    same time; `to_reschedule` could not be placed, for the manager to move or cancel.
    Each person was told once."""

    kept: list[AffectedOut]
    to_reschedule: list[AffectedOut]


class StationChanged(Disrupted, kw_only=True):
    station: StationOut


class OutageIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    station_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    starts_at: Aware
    ends_at: Aware
    reason: Reason = ""

    def __post_init__(self) -> None:
        bounds.check_instant(self.starts_at, "starts_at")
        bounds.check_instant(self.ends_at, "ends_at")


class OutageOut(msgspec.Struct, kw_only=True):
    id: int
    station: StationRef
    starts_at: datetime
    ends_at: datetime
    reason: str


class OutageAdded(Disrupted, kw_only=True):
    outage: OutageOut


class Range(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    opens: Clock
    closes: Clock


Ranges = Annotated[list[Range], msgspec.Meta(max_length=service.MAX_RANGES_PER_DAY)]


class SpecialOut(msgspec.Struct, kw_only=True):
    """Hours kept for one occurrence of a weekday in the month (1 to 5, -1 the last)."""

    weekday: str
    nth_in_month: int
    ranges: list[Range]
    note: str


class WeekOut(msgspec.Struct, kw_only=True):
    weekly: dict[str, list[Range]]
    special: list[SpecialOut]


class WeekdayIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The weekday's opening ranges, replacing its ordinary ones; none: closed that day."""

    ranges: Ranges


class WeekdayChanged(Disrupted, kw_only=True):
    weekday: str
    ranges: list[Range]


class ExceptionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The day's own hours; no range: closed all day."""

    ranges: Ranges = msgspec.field(default_factory=list)
    reason: Reason = ""


class ExceptionOut(msgspec.Struct, kw_only=True):
    day: date
    closed: bool
    ranges: list[Range]
    reason: str


class ExceptionSet(Disrupted, kw_only=True):
    exception: ExceptionOut


class ClosureIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    starts_at: Aware
    ends_at: Aware
    reason: Reason = ""

    def __post_init__(self) -> None:
        bounds.check_instant(self.starts_at, "starts_at")
        bounds.check_instant(self.ends_at, "ends_at")


class ClosureOut(msgspec.Struct, kw_only=True):
    id: int
    starts_at: datetime
    ends_at: datetime
    reason: str


class ClosureAdded(Disrupted, kw_only=True):
    closure: ClosureOut


def bounded_day(day: date) -> None:
    """A day of the path within the days the service knows; 400 in plain words otherwise."""
    if not bounds.within_days(day):
        raise BadRequest(f"The day must lie {bounds.DAY_BOUNDS_ENGLISH}.")


def clock_of(text: str, field_name: str) -> time:
    """A wall-clock time written HH:MM; 400 in plain words otherwise."""
    if not CLOCK.fullmatch(text):
        raise Invalid.one(
            field_name,
            f"Write times as HH:MM, from 00:00 to 23:59 ({text!r} is not one).",
            "Écrivez l'heure sous la forme HH:MM, par exemple 08:30.",
        )
    return time(int(text[:2]), int(text[3:]))


def hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def ranges_of(ranges: list[Range]) -> list[tuple[time, time]]:
    return [
        (clock_of(item.opens, f"ranges[{n}].opens"), clock_of(item.closes, f"ranges[{n}].closes"))
        for n, item in enumerate(ranges)
    ]


def ranges_out(ranges: list[tuple[time, time]]) -> list[Range]:
    return [Range(opens=hhmm(opens), closes=hhmm(closes)) for opens, closes in ranges]


def settings_out(site: Site) -> SettingsOut:
    values = {
        name: hhmm(value) if isinstance(value, time) else value
        for name, value in service.settings_of(site).items()
    }
    return msgspec.convert({"slug": site.slug, "name": site.name, **values}, SettingsOut)


def station_out(station: Station) -> StationOut:
    return StationOut(
        id=station.id,
        name=station.name,
        kind=station.kind,
        accessible=station.accessible,
        active=station.active,
        position=station.position,
    )


def affected_out(item: Affected, tz: ZoneInfo) -> AffectedOut:
    return AffectedOut(
        reference=item.reference,
        start=item.starts_at.astimezone(tz),
        end=item.ends_at.astimezone(tz),
        service=item.service,
        service_name=item.service_name,
        station=StationRef(id=item.station_id, name=item.station),
        previous_station=item.previous_station,
    )


def disrupted(disruption: Disruption, tz: ZoneInfo) -> dict[str, list[AffectedOut]]:
    return {
        "kept": [affected_out(item, tz) for item in disruption.kept],
        "to_reschedule": [affected_out(item, tz) for item in disruption.to_reschedule],
    }


def outage_out(outage: StationOutage, station: Station, tz: ZoneInfo) -> OutageOut:
    return OutageOut(
        id=outage.id,
        station=StationRef(id=station.id, name=station.name),
        starts_at=outage.starts_at.astimezone(tz),
        ends_at=outage.ends_at.astimezone(tz),
        reason=outage.reason,
    )


def exception_out(item: service.DayException) -> ExceptionOut:
    return ExceptionOut(
        day=item.day, closed=item.closed, ranges=ranges_out(item.ranges), reason=item.reason
    )


def closure_out(closure: Closure, tz: ZoneInfo) -> ClosureOut:
    return ClosureOut(
        id=closure.id,
        starts_at=closure.starts_at.astimezone(tz),
        ends_at=closure.ends_at.astimezone(tz),
        reason=closure.reason,
    )


def _changes(data: SettingsChange) -> dict[str, object]:
    given = {
        name: value for name, value in msgspec.structs.asdict(data).items() if value is not None
    }
    return {
        name: clock_of(value, name) if name in service.CLOCK_SETTINGS else value
        for name, value in given.items()
    }


class SiteAdminController(Controller):
    path = "/api/v1/admin/sites"
    tags = ["administration"]

    @get("/", summary="The mairies this agent runs (manager)", security=STAFF_SECURITY)
    async def list_sites(
        self, agent: NamedDependency[Agent], session: NamedDependency[AsyncSession]
    ) -> list[SiteOut]:
        return [
            SiteOut(slug=site.slug, name=site.name, address=site.address)
            for site in await administered_sites(session, agent)
        ]

    @get("/{slug:str}", summary="A mairie's booking and message settings", security=STAFF_SECURITY)
    async def get_settings(
        self, slug: Slug, agent: NamedDependency[Agent], session: NamedDependency[AsyncSession]
    ) -> SettingsOut:
        return settings_out(await site_to_run(session, agent, slug))

    @patch("/{slug:str}", summary="Change some of a mairie's settings", security=STAFF_SECURITY)
    async def change_settings(
        self,
        slug: Slug,
        data: JSONBody[SettingsChange],
        agent: NamedDependency[Agent],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
    ) -> SettingsOut:
        site = await service.change_settings(db, agent, slug, _changes(data), now=now)
        return settings_out(site)

    # Stations

    @get(
        "/{slug:str}/stations",
        summary="All the stations, taken away ones included",
        security=STAFF_SECURITY,
    )
    async def list_stations(
        self, slug: Slug, agent: NamedDependency[Agent], session: NamedDependency[AsyncSession]
    ) -> list[StationOut]:
        site = await site_to_run(session, agent, slug)
        return [station_out(station) for station in await service.stations_of(session, site)]

    @post(
        "/{slug:str}/stations",
        summary="Add a station",
        security=STAFF_SECURITY,
        responses=problem_responses(409),
    )
    async def add_station(
        self,
        slug: Slug,
        data: JSONBody[StationIn],
        agent: NamedDependency[Agent],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
    ) -> StationOut:
        station = await service.add_station(
            db, agent, slug, name=data.name, kind=data.kind, accessible=data.accessible, now=now
        )
        return station_out(station)

    @patch(
        "/{slug:str}/stations/{station_id:int}",
        summary="Rename a station, change its kind or accessibility, take it away",
        description="Booked appointments the station can no longer take go to another "
        "suitable station free at the same time, or are listed in `to_reschedule`.",
        security=STAFF_SECURITY,
        responses=problem_responses(409),
    )
    async def change_station(
        self,
        slug: Slug,
        station_id: Id,
        data: JSONBody[StationChangeIn],
        agent: NamedDependency[Agent],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
    ) -> StationChanged:
        station, disruption = await service.change_station(
            db,
            agent,
            slug,
            station_id,
            service.StationChange(
                name=data.name, kind=data.kind, accessible=data.accessible, active=data.active
            ),
            now=now,
        )
        tz = await self._zone(db, slug)
        return StationChanged(station=station_out(station), **disrupted(disruption, tz))

    # Stations out of service

    @get(
        "/{slug:str}/outages",
        summary="Stations out of service, now or to come",
        security=STAFF_SECURITY,
    )
    async def list_outages(
        self,
        slug: Slug,
        agent: NamedDependency[Agent],
        session: NamedDependency[AsyncSession],
        now: NamedDependency[datetime],
    ) -> list[OutageOut]:
        site = await site_to_run(session, agent, slug)
        stations = {s.id: s for s in await service.stations_of(session, site)}
        tz = ZoneInfo(site.timezone)
        return [
            outage_out(outage, stations[outage.station_id], tz)
            for outage in await service.outages_ahead(session, site, now)
        ]

    @post(
        "/{slug:str}/outages",
        summary="Take a station out of service for a period",
        description="Nothing is booked on the station then and nobody is called to it. Its "
        "booked appointments in the period go to another suitable station free at the same "
        "time (`kept`), or are listed in `to_reschedule`; each person is told once.",
        security=STAFF_SECURITY,
    )
    async def add_outage(
        self,
        slug: Slug,
        data: JSONBody[OutageIn],
        agent: NamedDependency[Agent],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
    ) -> OutageAdded:
        outage, disruption = await service.take_out_of_service(
            db,
            agent,
            slug,
            data.station_id,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            reason=data.reason,
            now=now,
        )
        async with db.session() as session:
            site = await site_to_run(session, agent, slug)
            station = await service.station_of(session, site, outage.station_id)
        tz = ZoneInfo(site.timezone)
        return OutageAdded(outage=outage_out(outage, station, tz), **disrupted(disruption, tz))

    @delete(
        "/{slug:str}/outages/{outage_id:int}",
        summary="The station is back in service",
        security=STAFF_SECURITY,
    )
    async def end_outage(
        self,
        slug: Slug,
        outage_id: Id,
        agent: NamedDependency[Agent],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
    ) -> None:
        await service.end_outage(db, agent, slug, outage_id, now=now)

    # Weekly hours

    @get("/{slug:str}/hours", summary="The weekly opening hours", security=STAFF_SECURITY)
    async def get_hours(
        self, slug: Slug, agent: NamedDependency[Agent], session: NamedDependency[AsyncSession]
    ) -> WeekOut:
        site = await site_to_run(session, agent, slug)
        rows = await service.weekly_rows(session, site)
        ordinary = service.weekly_ranges(rows)
        return WeekOut(
            weekly={WEEKDAYS[day]: ranges_out(ranges) for day, ranges in ordinary.items()},
            special=[
                SpecialOut(
                    weekday=WEEKDAYS[row.weekday],
                    nth_in_month=row.nth_in_month,
                    ranges=ranges_out([(row.opens, row.closes)]),
                    note=row.note,
                )
                for row in rows
                if row.nth_in_month is not None
            ],
        )

    @put(
        "/{slug:str}/hours/{weekday:str}",
        summary="Replace a weekday's opening hours",
        description="Booked appointments to come that fall outside the new hours are listed "
        "in `to_reschedule`, each person told once.",
        security=STAFF_SECURITY,
    )
    async def set_weekday(
        self,
        slug: Slug,
        weekday: Weekday,
        data: JSONBody[WeekdayIn],
        agent: NamedDependency[Agent],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
    ) -> WeekdayChanged:
        ranges = ranges_of(data.ranges)
        disruption = await service.set_weekday_hours(
            db, agent, slug, WEEKDAYS.index(weekday), ranges, now=now
        )
        tz = await self._zone(db, slug)
        return WeekdayChanged(
            weekday=weekday, ranges=ranges_out(sorted(ranges)), **disrupted(disruption, tz)
        )

    # Dated exceptions

    @get(
        "/{slug:str}/hours-exceptions",
        summary="Days with their own hours, from today",
        security=STAFF_SECURITY,
    )
    async def list_exceptions(
        self,
        slug: Slug,
        agent: NamedDependency[Agent],
        session: NamedDependency[AsyncSession],
        now: NamedDependency[datetime],
    ) -> list[ExceptionOut]:
        site = await site_to_run(session, agent, slug)
        found = await service.exceptions_ahead(session, site, local_today(site, now))
        return [exception_out(item) for item in found]

    @put(
        "/{slug:str}/hours-exceptions/{day:date}",
        summary="Give a day its own hours, or close it",
        description="Replaces the day's exception if it had one. Booked appointments that "
        "fall outside the day's new hours are listed in `to_reschedule`.",
        security=STAFF_SECURITY,
    )
    async def set_exception(
        self,
        slug: Slug,
        day: Day,
        data: JSONBody[ExceptionIn],
        agent: NamedDependency[Agent],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
    ) -> ExceptionSet:
        bounded_day(day)
        exception, disruption = await service.set_exception(
            db, agent, slug, day, ranges_of(data.ranges), reason=data.reason, now=now
        )
        tz = await self._zone(db, slug)
        return ExceptionSet(exception=exception_out(exception), **disrupted(disruption, tz))

    @delete(
        "/{slug:str}/hours-exceptions/{day:date}",
        summary="The day follows the week's hours again",
        security=STAFF_SECURITY,
    )
    async def delete_exception(
        self,
        slug: Slug,
        day: Day,
        agent: NamedDependency[Agent],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
    ) -> None:
        bounded_day(day)
        await service.delete_exception(db, agent, slug, day, now=now)

    # Closures

    @get("/{slug:str}/closures", summary="Closures not over yet", security=STAFF_SECURITY)
    async def list_closures(
        self,
        slug: Slug,
        agent: NamedDependency[Agent],
        session: NamedDependency[AsyncSession],
        now: NamedDependency[datetime],
    ) -> list[ClosureOut]:
        site = await site_to_run(session, agent, slug)
        tz = ZoneInfo(site.timezone)
        return [closure_out(c, tz) for c in await service.closures_ahead(session, site, now)]

    @post(
        "/{slug:str}/closures",
        summary="Close the mairie for a period",
        description="Nothing is offered in the period. Booked appointments to come in it are "
        "listed in `to_reschedule`, each person told once; past ones are left as they are.",
        security=STAFF_SECURITY,
    )
    async def add_closure(
        self,
        slug: Slug,
        data: JSONBody[ClosureIn],
        agent: NamedDependency[Agent],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
    ) -> ClosureAdded:
        closure, disruption = await service.add_closure(
            db,
            agent,
            slug,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            reason=data.reason,
            now=now,
        )
        tz = await self._zone(db, slug)
        return ClosureAdded(closure=closure_out(closure, tz), **disrupted(disruption, tz))

    @delete(
        "/{slug:str}/closures/{closure_id:int}",
        summary="Call a closure off",
        security=STAFF_SECURITY,
    )
    async def delete_closure(
        self,
        slug: Slug,
        closure_id: Id,
        agent: NamedDependency[Agent],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
    ) -> None:
        await service.delete_closure(db, agent, slug, closure_id, now=now)

    # What is left for the manager

    @get(
        "/{slug:str}/appointments-to-reschedule",
        summary="Booked appointments the mairie cannot honour as booked",
        description="Closed then, or their station out of service or taken away: for the "
        "manager to move or cancel.",
        security=STAFF_SECURITY,
    )
    async def to_reschedule(
        self,
        slug: Slug,
        agent: NamedDependency[Agent],
        session: NamedDependency[AsyncSession],
        now: NamedDependency[datetime],
    ) -> list[AffectedOut]:
        site = await site_to_run(session, agent, slug)
        tz = ZoneInfo(site.timezone)
        return [affected_out(item, tz) for item in await service.to_reschedule(session, site, now)]

    async def _zone(self, db: Database, slug: str) -> ZoneInfo:
        async with db.session() as session:
            site = await get_site(session, slug)
        return ZoneInfo(site.timezone)
