"""The slot engines of many sites at once, each over its own days: what
`queries.slot_finder` reads for one site, read for all of them in two queries (their
appointments; their stations, hours, closures, held offers and outages, a few rows, in
one), as plain rows, for the first free slot across sites (`app/booking/first.py`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from functools import cache
from typing import Any, TypeVarTuple
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    Row,
    Select,
    String,
    Time,
    and_,
    bindparam,
    cast,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from app.booking.models import RELEASED, Appointment
from app.booking.queries import Rules, local_days, policy
from app.booking.slots import Booked, Requirement, SlotFinder, StationInfo
from app.sites.hours import ClosedPeriod, DatedHours, SiteCalendar, WeeklyRule
from app.sites.models import Closure, HoursException, Station, StationOutage, WeeklyHours
from app.waitlist.models import Offer, OfferStatus

Days = tuple[date, date]
Columns = TypeVarTuple("Columns")


async def read(
    session: AsyncSession, query: Select[*Columns], values: Mapping[str, Any] | None = None
) -> Sequence[Row[*Columns]]:
    """The rows of `query` (columns, not entities; its parameters' `values`), read on the
    session's connection, in its transaction, without the ORM's machinery for results:
    thousands of rows a search."""
    connection = await session.connection()
    return (await connection.execute(query, values)).all()


async def slot_finders(
    session: AsyncSession,
    wanted: Mapping[int, tuple[Rules, Days]],
    need: Requirement,
    now: datetime,
) -> dict[int, SlotFinder]:
    """A slot engine for each site of `wanted` (by id: the site, its days, `first` and
    `last`: local, both included), by site id, with its active `stations`: the same as
    `queries.slot_finder` gives, site by site."""
    if not wanted:
        return {}
    ids = list(wanted)
    spans = {
        site.id: local_days(first, last, ZoneInfo(site.timezone))
        for site, (first, last) in wanted.values()
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

    # Hours, dated exceptions, closures, held offers and outages: a few rows, in one query
    # (always the same: over all the days asked; each site's own are kept here).
    weekly: dict[int, list[WeeklyRule]] = {site: [] for site in ids}
    dated: dict[int, list[DatedHours]] = {site: [] for site in ids}
    closed: dict[int, list[ClosedPeriod]] = {site: [] for site in ids}
    stations: dict[int, list[StationInfo]] = {site: [] for site in ids}
    offered: list[tuple[int, Booked]] = []
    outages: list[tuple[datetime, int, int, Booked]] = []
    values = {
        "ids": ids,
        "first": min(first for _, (first, _) in wanted.values()),
        "last": max(last for _, (_, last) in wanted.values()),
        "starts": min(starts for starts, _ in spans.values()),
        "ends": max(ends for _, ends in spans.values()),
        "now": now,
    }
    for (
        kind,
        site_id,
        number,
        nth,
        starts,
        ends,
        day,
        opens,
        closes,
        note,
        ident,
        flag,
    ) in await read(session, _calendars(), values):
        if kind == STATION:
            stations[site_id].append(StationInfo(number, note, flag, nth))
        elif kind == WEEKLY:
            weekly[site_id].append(WeeklyRule(number, opens, closes, nth, note))
        elif kind == DATED:
            first, last = wanted[site_id][1]
            if first <= day <= last:
                dated[site_id].append(DatedHours(day, opens, closes, note))
        elif starts < spans[site_id][1] and ends > spans[site_id][0]:
            if kind == CLOSED:
                closed[site_id].append(ClosedPeriod(starts, ends, note))
            elif kind == OFFERED:
                offered.append((site_id, Booked(number, starts, ends)))
            else:
                outages.append((starts, ident, site_id, Booked(number, starts, ends)))
    for listed in stations.values():
        listed.sort(key=lambda station: station.id)
    held: dict[int, list[Booked]] = {site: [] for site in ids}
    for site_id, station_id, starts, ends in await read(
        session,
        select(
            Appointment.site_id, Appointment.station_id, Appointment.starts_at, Appointment.ends_at
        ).where(
            Appointment.status.not_in(RELEASED),
            overlapping(Appointment.site_id, Appointment.starts_at, Appointment.ends_at),
        ),
    ):
        held[site_id].append(Booked(station_id, starts, ends))
    for site_id, offer in offered:
        held[site_id].append(offer)
    out: dict[int, list[Booked]] = {site: [] for site in ids}
    for _, _, site_id, outage in sorted(outages, key=lambda item: (item[0], item[1])):
        out[site_id].append(outage)
    finders = {}
    for site, (first, last) in wanted.values():
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


STATION, WEEKLY, DATED, CLOSED, OFFERED, OUT = range(6)


@cache
def _calendars() -> Select[
    int, int, int, int, datetime, datetime, date, time, time, str, int, bool
]:
    """The active stations of the sites `ids`, their weekly hours, their dated hours from
    `first` to `last`, and their closures, held offers (at `now`) and station outages
    between `starts` and `ends`, in the columns: kind, site, station or weekday, position
    or nth in month, starts, ends, day, opens, closes, station kind or note or reason,
    outage id, accessible (NULL where a kind has none). Built once: its parameters are
    bound at each reading."""
    instant = Closure.starts_at.type

    def row(kind: int, site: Any, **given: Any) -> list[Any]:
        typed = {
            "number": Integer(),
            "nth": Integer(),
            "starts": instant,
            "ends": instant,
            "day": Date(),
            "opens": Time(),
            "closes": Time(),
            "note": String(),
            "ident": Integer(),
            "flag": Boolean(),
        }
        return [
            literal_column(str(kind), Integer()).label("kind"),
            site.label("site_id"),
            *(
                (given[name] if name in given else cast(null(), of)).label(name)
                for name, of in typed.items()
            ),
        ]

    def overlapping(
        site: QueryableAttribute[int],
        starts: QueryableAttribute[datetime],
        ends: QueryableAttribute[datetime],
    ) -> ColumnElement[bool]:
        return and_(
            site.in_(bindparam("ids", expanding=True)),
            starts < bindparam("ends"),
            ends > bindparam("starts"),
        )

    query = union_all(
        select(
            *row(
                STATION,
                Station.site_id,
                number=Station.id,
                nth=Station.position,
                note=Station.kind,
                flag=Station.accessible,
            )
        ).where(Station.site_id.in_(bindparam("ids", expanding=True)), Station.active),
        select(
            *row(
                WEEKLY,
                WeeklyHours.site_id,
                number=WeeklyHours.weekday,
                nth=WeeklyHours.nth_in_month,
                opens=WeeklyHours.opens,
                closes=WeeklyHours.closes,
                note=WeeklyHours.note,
            )
        ).where(WeeklyHours.site_id.in_(bindparam("ids", expanding=True))),
        select(
            *row(
                DATED,
                HoursException.site_id,
                day=HoursException.day,
                opens=HoursException.opens,
                closes=HoursException.closes,
                note=HoursException.reason,
            )
        ).where(
            HoursException.site_id.in_(bindparam("ids", expanding=True)),
            HoursException.day >= bindparam("first"),
            HoursException.day <= bindparam("last"),
        ),
        select(
            *row(
                CLOSED,
                Closure.site_id,
                starts=Closure.starts_at,
                ends=Closure.ends_at,
                note=Closure.reason,
            )
        ).where(overlapping(Closure.site_id, Closure.starts_at, Closure.ends_at)),
        select(
            *row(
                OFFERED,
                Offer.site_id,
                number=Offer.station_id,
                starts=Offer.starts_at,
                ends=Offer.ends_at,
            )
        ).where(
            Offer.status == OfferStatus.HELD,
            Offer.expires_at > bindparam("now"),
            overlapping(Offer.site_id, Offer.starts_at, Offer.ends_at),
        ),
        select(
            *row(
                OUT,
                Station.site_id,
                number=StationOutage.station_id,
                starts=StationOutage.starts_at,
                ends=StationOutage.ends_at,
                ident=StationOutage.id,
            )
        )
        .join(Station, Station.id == StationOutage.station_id)
        .where(overlapping(Station.site_id, StationOutage.starts_at, StationOutage.ends_at)),
    )
    return select(*query.subquery().c)
