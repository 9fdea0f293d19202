"""What the administration of a mairie reads: its stations, their outages, its weekly
hours, the dated exceptions and the closures to come."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.service import other_site
from app.errors import NotFound
from app.sites.models import Closure, HoursException, Site, Station, StationOutage, WeeklyHours


async def stations_of(session: AsyncSession, site: Site) -> list[Station]:
    """All of the site's stations, those taken away included, in their order."""
    query = select(Station).where(Station.site_id == site.id)
    return list(await session.scalars(query.order_by(Station.position, Station.id)))


Owned = TypeVar("Owned", Station, Closure)


async def site_row(
    session: AsyncSession, site: Site, model: type[Owned], row_id: int, what: str
) -> Owned:
    """The `what` of `site` with this id: 404 if there is none, 403 if another site's."""
    row = await session.get(model, row_id)
    if row is None:
        raise NotFound(f"{site.name} has no {what} with the id {row_id}.")
    if row.site_id != site.id:
        raise other_site(site, what)
    return row


async def station_of(session: AsyncSession, site: Site, station_id: int) -> Station:
    return await site_row(session, site, Station, station_id, "station")


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
