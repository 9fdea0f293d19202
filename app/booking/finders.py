"""The slot engines of many sites at once, each over its own days: what
`queries.slot_finder` reads for one site, read for all of them in one query per table,
for the first free slot across sites (`app/booking/first.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from app.booking.models import RELEASED, Appointment
from app.booking.queries import local_days, policy
from app.booking.slots import Booked, Requirement, SlotFinder, StationInfo
from app.sites.hours import ClosedPeriod, DatedHours, SiteCalendar, WeeklyRule
from app.sites.models import Closure, HoursException, Site, Station, StationOutage, WeeklyHours
from app.waitlist.models import Offer, OfferStatus

Days = tuple[date, date]


async def slot_finders(
    session: AsyncSession,
    wanted: Mapping[Site, Days],
    need: Requirement,
    now: datetime,
) -> dict[int, SlotFinder]:
    """A slot engine for each site of `wanted`, over its days (`first`, `last`: local,
    both included), by site id: the same as `queries.slot_finder` gives, site by site."""
    if not wanted:
        return {}
    ids = [site.id for site in wanted]
    spans = {
        site.id: local_days(first, last, ZoneInfo(site.timezone))
        for site, (first, last) in wanted.items()
    }

    # Mairies asked about the same days share one condition: most rounds ask one day of all.
    groups: dict[tuple[datetime, datetime], list[int]] = {}
    for site_id, span in spans.items():
        groups.setdefault(span, []).append(site_id)

    def overlapping(
        site_column: QueryableAttribute[int],
        starts_column: QueryableAttribute[datetime],
        ends_column: QueryableAttribute[datetime],
    ) -> ColumnElement[bool]:
        return or_(
            *(
                and_(site_column.in_(sites), starts_column < ends, ends_column > starts)
                for (starts, ends), sites in groups.items()
            )
        )

    days_groups: dict[Days, list[int]] = {}
    for site, days in wanted.items():
        days_groups.setdefault(days, []).append(site.id)
    weekly: dict[int, list[WeeklyRule]] = {site: [] for site in ids}
    for rule in await session.execute(
        select(
            WeeklyHours.site_id,
            WeeklyHours.weekday,
            WeeklyHours.opens,
            WeeklyHours.closes,
            WeeklyHours.nth_in_month,
            WeeklyHours.note,
        ).where(WeeklyHours.site_id.in_(ids))
    ):
        weekly[rule[0]].append(WeeklyRule(*rule[1:]))
    dated: dict[int, list[DatedHours]] = {site: [] for site in ids}
    for special in await session.execute(
        select(
            HoursException.site_id,
            HoursException.day,
            HoursException.opens,
            HoursException.closes,
            HoursException.reason,
        ).where(
            or_(
                *(
                    and_(
                        HoursException.site_id.in_(sites),
                        HoursException.day >= first,
                        HoursException.day <= last,
                    )
                    for (first, last), sites in days_groups.items()
                )
            )
        )
    ):
        dated[special[0]].append(DatedHours(*special[1:]))
    closed: dict[int, list[ClosedPeriod]] = {site: [] for site in ids}
    for closure in await session.execute(
        select(Closure.site_id, Closure.starts_at, Closure.ends_at, Closure.reason).where(
            overlapping(Closure.site_id, Closure.starts_at, Closure.ends_at)
        )
    ):
        closed[closure[0]].append(ClosedPeriod(*closure[1:]))
    stations: dict[int, list[StationInfo]] = {site: [] for site in ids}
    for site_id, station_id, kind, accessible, position in await session.execute(
        select(Station.site_id, Station.id, Station.kind, Station.accessible, Station.position)
        .where(Station.site_id.in_(ids), Station.active)
        .order_by(Station.id)
    ):
        stations[site_id].append(StationInfo(station_id, kind, accessible, position))
    held: dict[int, list[Booked]] = {site: [] for site in ids}
    for booked in await session.execute(
        select(
            Appointment.site_id, Appointment.station_id, Appointment.starts_at, Appointment.ends_at
        ).where(
            Appointment.status.not_in(RELEASED),
            overlapping(Appointment.site_id, Appointment.starts_at, Appointment.ends_at),
        )
    ):
        held[booked[0]].append(Booked(*booked[1:]))
    for offer in await session.execute(
        select(Offer.site_id, Offer.station_id, Offer.starts_at, Offer.ends_at).where(
            Offer.status == OfferStatus.HELD,
            Offer.expires_at > now,
            overlapping(Offer.site_id, Offer.starts_at, Offer.ends_at),
        )
    ):
        held[offer[0]].append(Booked(*offer[1:]))
    out: dict[int, list[Booked]] = {site: [] for site in ids}
    for outage in await session.execute(
        select(
            Station.site_id,
            StationOutage.station_id,
            StationOutage.starts_at,
            StationOutage.ends_at,
        )
        .join(Station, Station.id == StationOutage.station_id)
        .where(overlapping(Station.site_id, StationOutage.starts_at, StationOutage.ends_at))
        .order_by(StationOutage.starts_at, StationOutage.id)
    ):
        out[outage[0]].append(Booked(*outage[1:]))
    finders = {}
    for site, (first, last) in wanted.items():
        zone = ZoneInfo(site.timezone)
        calendar = SiteCalendar(
            timezone=zone,
            weekly=weekly[site.id],
            exceptions=dated[site.id],
            closures=closed[site.id],
        )
        finders[site.id] = SlotFinder(
            days=list(calendar.days(first, last)),
            stations=stations[site.id],
            booked=held[site.id],
            need=need,
            policy=policy(site),
            now=now,
            timezone=zone,
            outages=out[site.id],
        )
    return finders
