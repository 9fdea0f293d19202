"""The opening times of a mairie over HTTP: its weekly hours, the dated days with their own
hours and its closures, with the structs they read and send. `SiteAdminController` serves
these routes with the others of a mairie's administration."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

import msgspec
from litestar import delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from app import bounds
from app.accounts.guards import Caller
from app.errors import BadRequest
from app.shapes import from_model
from app.sites import hours_commands
from app.sites.admin_schemas import (
    Clock,
    Disrupted,
    Id,
    PeriodIn,
    Reason,
    clock_of,
    disrupted,
    hhmm,
    in_zone,
    site_zone,
)
from app.sites.api_common import SiteAdministration, SiteCaller
from app.sites.hours import WEEKDAYS
from app.sites.models import Closure
from app.sites.queries import (
    DayException,
    closures_ahead,
    exceptions_ahead,
    weekly_ranges,
    weekly_rows,
)
from app.sites.rules import MAX_RANGES_PER_DAY
from app.sites.schemas import NthWeekday, Slug
from app.sites.service import local_today

Day = Annotated[date, PathParameter(description="YYYY-MM-DD")]
Weekday = Annotated[
    str, PathParameter(pattern=r"^(mon|tue|wed|thu|fri|sat|sun)$", description="mon … sun")
]


class Range(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    opens: Clock
    closes: Clock


Ranges = Annotated[list[Range], msgspec.Meta(max_length=MAX_RANGES_PER_DAY)]


class SpecialOut(NthWeekday, kw_only=True):
    """Hours kept for one occurrence of a weekday in the month (1 to 5, -1 the last)."""

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


class ClosureIn(PeriodIn, kw_only=True, forbid_unknown_fields=True):
    """The period the mairie is closed."""


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


def ranges_of(ranges: list[Range]) -> list[tuple[time, time]]:
    return [
        (clock_of(item.opens, f"ranges[{n}].opens"), clock_of(item.closes, f"ranges[{n}].closes"))
        for n, item in enumerate(ranges)
    ]


def ranges_out(ranges: list[tuple[time, time]]) -> list[Range]:
    return [Range(opens=hhmm(opens), closes=hhmm(closes)) for opens, closes in ranges]


def exception_out(item: DayException) -> ExceptionOut:
    return from_model(item, ExceptionOut, ranges=ranges_out(item.ranges))


def closure_out(closure: Closure, tz: ZoneInfo) -> ClosureOut:
    starts_at, ends_at = in_zone(closure, tz)
    return from_model(closure, ClosureOut, starts_at=starts_at, ends_at=ends_at)


class HoursRoutes(SiteAdministration):
    """The opening times' part of `SiteAdminController`, which serves these routes."""

    path = "/api/v1/admin/sites"

    # Weekly hours

    @get("/{slug:str}/hours", summary="The weekly opening hours")
    async def get_hours(self, site_caller: NamedDependency[SiteCaller]) -> WeekOut:
        rows = await weekly_rows(site_caller.session, site_caller.site)
        ordinary = weekly_ranges(rows)
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
    )
    async def set_weekday(
        self,
        slug: Slug,
        weekday: Weekday,
        data: JSONBody[WeekdayIn],
        caller: NamedDependency[Caller],
    ) -> WeekdayChanged:
        ranges = ranges_of(data.ranges)
        disruption = await hours_commands.set_weekday_hours(
            caller.session, caller.actor, slug, WEEKDAYS.index(weekday), ranges, now=caller.now
        )
        tz = await site_zone(caller.session, slug)
        return WeekdayChanged(
            weekday=weekday, ranges=ranges_out(sorted(ranges)), **disrupted(disruption, tz)
        )

    # Dated exceptions

    @get("/{slug:str}/hours-exceptions", summary="Days with their own hours, from today")
    async def list_exceptions(self, site_caller: NamedDependency[SiteCaller]) -> list[ExceptionOut]:
        site = site_caller.site
        today = local_today(site, site_caller.now)
        found = await exceptions_ahead(site_caller.session, site, today)
        return [exception_out(item) for item in found]

    @put(
        "/{slug:str}/hours-exceptions/{day:date}",
        summary="Give a day its own hours, or close it",
        description="Replaces the day's exception if it had one. Booked appointments that "
        "fall outside the day's new hours are listed in `to_reschedule`.",
    )
    async def set_exception(
        self,
        slug: Slug,
        day: Day,
        data: JSONBody[ExceptionIn],
        caller: NamedDependency[Caller],
    ) -> ExceptionSet:
        bounded_day(day)
        db, ranges = caller.session, ranges_of(data.ranges)
        exception, disruption = await hours_commands.set_exception(
            db, caller.actor, slug, day, ranges, reason=data.reason, now=caller.now
        )
        tz = await site_zone(db, slug)
        return ExceptionSet(exception=exception_out(exception), **disrupted(disruption, tz))

    @delete(
        "/{slug:str}/hours-exceptions/{day:date}",
        summary="The day follows the week's hours again",
    )
    async def delete_exception(
        self,
        slug: Slug,
        day: Day,
        caller: NamedDependency[Caller],
    ) -> None:
        bounded_day(day)
        await hours_commands.delete_exception(
            caller.session, caller.actor, slug, day, now=caller.now
        )

    # Closures

    @get("/{slug:str}/closures", summary="Closures not over yet")
    async def list_closures(self, site_caller: NamedDependency[SiteCaller]) -> list[ClosureOut]:
        closures = await closures_ahead(site_caller.session, site_caller.site, site_caller.now)
        return [closure_out(closure, site_caller.tz) for closure in closures]

    @post(
        "/{slug:str}/closures",
        summary="Close the mairie for a period",
        description="Nothing is offered in the period. Booked appointments to come in it are "
        "listed in `to_reschedule`, each person told once; past ones are left as they are.",
    )
    async def add_closure(
        self,
        slug: Slug,
        data: JSONBody[ClosureIn],
        caller: NamedDependency[Caller],
    ) -> ClosureAdded:
        closure, disruption = await hours_commands.add_closure(
            caller.session,
            caller.actor,
            slug,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            reason=data.reason,
            now=caller.now,
        )
        tz = await site_zone(caller.session, slug)
        return ClosureAdded(closure=closure_out(closure, tz), **disrupted(disruption, tz))

    @delete("/{slug:str}/closures/{closure_id:int}", summary="Call a closure off")
    async def delete_closure(
        self,
        slug: Slug,
        closure_id: Id,
        caller: NamedDependency[Caller],
    ) -> None:
        await hours_commands.delete_closure(
            caller.session, caller.actor, slug, closure_id, now=caller.now
        )
