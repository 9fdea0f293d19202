"""Reading sites, their stations, their hours and the catalogs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import bounds
from app.errors import BadRequest, NotFound
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
    query = select(Site).where(Site.slug == slug, Site.active)
    if with_details:
        query = query.options(selectinload(Site.stations), selectinload(Site.weekly_hours))
    site = await session.scalar(query)
    if site is None:
        raise NotFound(f"No mairie has the identifier {slug!r}.")
    return site


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
    """`site_calendar` of each of `sites` (by id), in three queries however many."""
    if not sites:
        return {}
    ids = [site.id for site in sites]
    zones = {site.id: ZoneInfo(site.timezone) for site in sites}
    weekly: dict[int, list[WeeklyRule]] = {site_id: [] for site_id in ids}
    for rule in await session.scalars(select(WeeklyHours).where(WeeklyHours.site_id.in_(ids))):
        weekly[rule.site_id].append(
            WeeklyRule(rule.weekday, rule.opens, rule.closes, rule.nth_in_month, rule.note)
        )
    dated: dict[int, list[DatedHours]] = {site_id: [] for site_id in ids}
    for day in await session.scalars(
        select(HoursException).where(
            HoursException.site_id.in_(ids), HoursException.day >= first, HoursException.day <= last
        )
    ):
        dated[day.site_id].append(DatedHours(day.day, day.opens, day.closes, day.reason))
    # Local days begin at different instants in different zones: the widest span is read.
    starts = min(local_instant(first, time(0), zone) for zone in zones.values())
    ends = max(local_instant(last + timedelta(days=1), time(0), zone) for zone in zones.values())
    closed: dict[int, list[ClosedPeriod]] = {site_id: [] for site_id in ids}
    for closure in await session.scalars(
        select(Closure).where(
            Closure.site_id.in_(ids), Closure.starts_at < ends, Closure.ends_at > starts
        )
    ):
        closed[closure.site_id].append(
            ClosedPeriod(closure.starts_at, closure.ends_at, closure.reason)
        )
    return {
        site_id: SiteCalendar(
            timezone=zones[site_id],
            weekly=weekly[site_id],
            exceptions=dated[site_id],
            closures=closed[site_id],
        )
        for site_id in ids
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


MAX_DAYS_PER_CALL = 62
EARLIEST_DAY, LATEST_DAY = bounds.EARLIEST_DAY, bounds.LATEST_DAY


def day_range(
    first: date | None, last: date | None, *, today: date, default_days: int
) -> tuple[date, date]:
    """The requested days, defaulting to `default_days` from today; 400 when the range is wrong."""
    first = first or today
    if not EARLIEST_DAY <= first <= LATEST_DAY or (last and not EARLIEST_DAY <= last <= LATEST_DAY):
        raise BadRequest(f"Dates must lie between {EARLIEST_DAY} and {LATEST_DAY}.")
    last = last or first + timedelta(days=default_days - 1)
    if last < first:
        raise BadRequest("`to` must be on or after `from`.")
    if (last - first).days + 1 > MAX_DAYS_PER_CALL:
        raise BadRequest(f"Ask for at most {MAX_DAYS_PER_CALL} days per call.")
    return first, last
