"""Reading sites, their stations, their hours and the catalogs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CompoundSelect,
    Date,
    Integer,
    Select,
    String,
    Time,
    bindparam,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.types import TypeEngine

from app import bounds
from app.db import UTCDateTime, union_part
from app.errors import BadRequest
from app.lookup import one_or_not_found
from app.sites.hours import ClosedPeriod, DatedHours, SiteCalendar, WeeklyRule, local_instant
from app.sites.models import (
    Closure,
    HoursException,
    Need,
    Service,
    Site,
    Station,
    StationOutage,
    WeeklyHours,
)


async def list_sites(session: AsyncSession) -> list[Site]:
    return list(await session.scalars(select(Site).where(Site.active).order_by(Site.id)))


async def get_site(session: AsyncSession, slug: str, *, with_details: bool = False) -> Site:
    """The active site with this slug; 404 otherwise."""
    return await one_or_not_found(
        session,
        _site_by_slug(with_details),
        {"slug": slug},
        f"No mairie has the identifier {slug!r}.",
    )


@cache
def _site_by_slug(with_details: bool) -> Select[Site]:
    """`get_site`'s statement, built once (a site is looked up by slug on most requests)."""
    query = select(Site).where(Site.slug == bindparam("slug"), Site.active)
    if with_details:
        query = query.options(selectinload(Site.stations), selectinload(Site.weekly_hours))
    return query


async def list_services(session: AsyncSession) -> list[Service]:
    query = select(Service).where(Service.active).order_by(Service.position, Service.code)
    return list(await session.scalars(query))


async def list_needs(session: AsyncSession) -> list[Need]:
    query = select(Need).where(Need.active).order_by(Need.position, Need.code)
    return list(await session.scalars(query))


async def site_calendar(session: AsyncSession, site: Site, first: date, last: date) -> SiteCalendar:
    """What decides when `site` is open between `first` and `last` (local dates)."""
    return (await site_calendars(session, [site], first, last))[site.id]


async def site_calendars(
    session: AsyncSession, sites: Sequence[Site], first: date, last: date
) -> dict[int, SiteCalendar]:
    """`site_calendar` of each of `sites` (by id), in one query however many: their weekly
    hours, dated hours from `first` to `last`, and closures over those local days."""
    if not sites:
        return {}
    zones = {site.id: ZoneInfo(site.timezone) for site in sites}
    rows = await session.execute(calendar_query(), calendar_parameters(zones, first, last))
    return calendars_from(rows, zones)


def calendar_parameters(zones: Mapping[int, ZoneInfo], first: date, last: date) -> dict[str, Any]:
    """The parameters of `calendar_query()` for the sites of `zones` (id: time zone)."""
    # Local days begin at different instants in different zones: the widest span is read.
    starts = min(local_instant(first, time(0), zone) for zone in zones.values())
    ends = max(local_instant(last + timedelta(days=1), time(0), zone) for zone in zones.values())
    return {"ids": list(zones), "first": first, "last": last, "starts": starts, "ends": ends}


def calendars_from(rows: Iterable[Any], zones: Mapping[int, ZoneInfo]) -> dict[int, SiteCalendar]:
    """The calendar of each site of `zones` from the rows of `calendar_query()`."""
    weekly: dict[int, list[WeeklyRule]] = {site_id: [] for site_id in zones}
    dated: dict[int, list[DatedHours]] = {site_id: [] for site_id in zones}
    closed: dict[int, list[ClosedPeriod]] = {site_id: [] for site_id in zones}
    for kind, site_id, _ident, weekday, nth, day, opens, closes, begins, finishes, note in rows:
        if kind == _WEEKLY:
            weekly[site_id].append(WeeklyRule(weekday, opens, closes, nth, note))
        elif kind == _DATED:
            dated[site_id].append(DatedHours(day, opens, closes, note))
        else:
            closed[site_id].append(ClosedPeriod(begins, finishes, note))
    return {
        site_id: SiteCalendar(
            timezone=zone,
            weekly=weekly[site_id],
            exceptions=dated[site_id],
            closures=closed[site_id],
        )
        for site_id, zone in zones.items()
    }


async def station_outages(
    session: AsyncSession,
    site: Site,
    starts: datetime,
    ends: datetime,
    station_id: int | None = None,
) -> list[StationOutage]:
    """The outages of `site`'s stations (or of one of them) that overlap the instants from
    `starts` to `ends`."""
    query = (
        select(StationOutage)
        .join(Station, Station.id == StationOutage.station_id)
        .where(
            Station.site_id == site.id,
            StationOutage.starts_at < ends,
            StationOutage.ends_at > starts,
        )
        .order_by(StationOutage.starts_at, StationOutage.id)
    )
    if station_id is not None:
        query = query.where(StationOutage.station_id == station_id)
    return list(await session.scalars(query))


def local_today(site: Site, now: datetime) -> date:
    return now.astimezone(ZoneInfo(site.timezone)).date()


def booking_horizon(site: Site, now: datetime) -> datetime:
    """The latest start the site takes bookings for (`booking_horizon_days` from now), in
    its time zone: its day is the last day open for booking."""
    return (now + timedelta(days=site.booking_horizon_days)).astimezone(ZoneInfo(site.timezone))


MAX_DAYS_PER_CALL = 62
EARLIEST_DAY, LATEST_DAY = bounds.EARLIEST_DAY, bounds.LATEST_DAY


def day_range(
    first: date | None, last: date | None, *, today: date, default_days: int
) -> tuple[date, date]:
    """The requested days, defaulting to `default_days` from today; 400 when the range is wrong."""
    first = first or today
    for name, day in (("from", first), ("to", last)):
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise bad_day(name, f"`{name}` must lie between {EARLIEST_DAY} and {LATEST_DAY}.")
    last = last or first + timedelta(days=default_days - 1)
    if last < first:
        raise BadRequest("`to` must be on or after `from`.")
    if (last - first).days + 1 > MAX_DAYS_PER_CALL:
        raise BadRequest(f"Ask for at most {MAX_DAYS_PER_CALL} days per call.")
    return first, last


def bad_day(name: str, detail: str) -> BadRequest:
    """The 400 for the day of the query parameter `name`, naming it as Litestar's own
    refusals of a query parameter do."""
    error = {"message": detail, "key": name, "source": "query"}
    return BadRequest(detail, extra={"errors": [error]})


_WEEKLY, _DATED, _CLOSED = range(3)

# The columns the weekly hours, the dated hours and the closures fill in a part of a
# UNION ALL of calendars (`union_part`): the sites' calendars here, and the slot engines'
# statement (`app.booking.finders`). `number`: the weekday.
WEEKLY_ROW = {
    "number": WeeklyHours.weekday,
    "nth": WeeklyHours.nth_in_month,
    "opens": WeeklyHours.opens,
    "closes": WeeklyHours.closes,
    "note": WeeklyHours.note,
}
DATED_ROW = {
    "day": HoursException.day,
    "opens": HoursException.opens,
    "closes": HoursException.closes,
    "note": HoursException.reason,
}
CLOSURE_ROW = {"starts": Closure.starts_at, "ends": Closure.ends_at, "note": Closure.reason}
# The dated hours from `first` to `last`.
DATED_WITHIN = (HoursException.day >= bindparam("first"), HoursException.day <= bindparam("last"))


@cache
def calendar_query() -> CompoundSelect[Any]:
    """Weekly hours, dated hours and closures of the sites `ids` as plain rows of one
    shape: kind, site, id, weekday, nth in month, day, opens, closes, starts, ends, note
    (NULL where a kind has none). Built once; its parameters are bound at each reading."""
    columns: dict[str, TypeEngine[Any]] = {
        "site_id": Integer(),
        "ident": Integer(),
        "number": Integer(),
        "nth": Integer(),
        "day": Date(),
        "opens": Time(),
        "closes": Time(),
        "starts": UTCDateTime(),
        "ends": UTCDateTime(),
        "note": String(),
    }

    def row(kind: int, table: Any, **given: Any) -> Select[Any]:
        return select(
            *union_part(kind, columns, site_id=table.site_id, ident=table.id, **given)
        ).where(table.site_id.in_(bindparam("ids", expanding=True)))

    weekly = row(_WEEKLY, WeeklyHours, **WEEKLY_ROW)
    dated = row(_DATED, HoursException, **DATED_ROW).where(*DATED_WITHIN)
    closures = row(_CLOSED, Closure, **CLOSURE_ROW).where(
        Closure.starts_at < bindparam("ends"), Closure.ends_at > bindparam("starts")
    )
    return union_all(weekly, dated, closures).order_by("part", "ident")
