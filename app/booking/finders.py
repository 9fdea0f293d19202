"""The slot engines of one site or many at once, each over its own days, read in one
statement: their appointments, stations, hours of the weekdays asked, closures, held
offers and outages, as plain rows. One site's (`slot_finder`) serves a search, a booking's
check and the earlier slots' offers; many sites' (`slot_finders`), the first free slot
across sites (`app/booking/first.py`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, TypeVarTuple
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Integer,
    Row,
    Select,
    String,
    Time,
    and_,
    bindparam,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from app.booking import free_time_reads
from app.booking.models import RELEASED, Appointment
from app.booking.slots import Booked, Requirement, Rules, SlotFinder, StationInfo, policy
from app.db import union_part
from app.sites.hours import ClosedPeriod, DatedHours, SiteCalendar, WeeklyRule, local_days
from app.sites.models import Closure, HoursException, Station, StationOutage, WeeklyHours
from app.sites.service import CLOSURE_ROW, DATED_ROW, DATED_WITHIN, WEEKLY_ROW
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
    `slot_finder` gives, site by site."""
    return (await _slot_finders(session, wanted, need, now))[0]


async def slot_finder(
    session: AsyncSession,
    site: Rules,
    need: Requirement,
    first: date,
    last: date,
    now: datetime,
    *,
    leave_out: int | None = None,
    leave_out_offer: int | None = None,
) -> SlotFinder:
    """Everything the slot engine needs for `site` from `first` to `last` (local days),
    in one statement. A slot held for someone waiting for an earlier one (`app/waitlist`)
    is taken until its offer lapses; `leave_out` and `leave_out_offer`: the appointment
    being moved, the offer being accepted, which take nothing from themselves."""
    finders, appointments = await _slot_finders(
        session, {site.id: (site, (first, last))}, need, now, leave_out, leave_out_offer
    )
    finder = finders[site.id]
    if first == last and leave_out is None:  # the day's summary needs no second read
        ids = [station.id for station in finder.stations]
        booked, outages = appointments[site.id], list(finder.outages)
        free_time_reads.read_of_day(session, site.id, first, finder.days[0], ids, booked, outages)
    return finder


async def _slot_finders(
    session: AsyncSession,
    wanted: Mapping[int, tuple[Rules, Days]],
    need: Requirement,
    now: datetime,
    leave_out: int | None = None,
    leave_out_offer: int | None = None,
) -> tuple[dict[int, SlotFinder], dict[int, list[Booked]]]:
    """The slot engines of `slot_finders`, and the appointments of each site (without
    the offers its engine counts too)."""
    if not wanted:
        return {}, {}
    ids = list(wanted)
    spans = {
        site.id: local_days(first, last, ZoneInfo(site.timezone))
        for site, (first, last) in wanted.values()
    }

    # Mairies asked about the same days share one condition: most rounds ask one day of all.
    groups: dict[tuple[datetime, datetime], list[int]] = {}
    for site_id, span in spans.items():
        groups.setdefault(span, []).append(site_id)

    # Their appointments, and their hours, dated exceptions, closures, held offers and
    # outages, in one query (each site's own days are kept here).
    weekly: dict[int, list[WeeklyRule]] = {site: [] for site in ids}
    dated: dict[int, list[DatedHours]] = {site: [] for site in ids}
    closed: dict[int, list[ClosedPeriod]] = {site: [] for site in ids}
    stations: dict[int, list[StationInfo]] = {site: [] for site in ids}
    held: dict[int, list[Booked]] = {site: [] for site in ids}
    offered: list[tuple[int, Booked]] = []
    outages: list[tuple[datetime, int, int, Booked]] = []
    first_day = min(first for _, (first, _) in wanted.values())
    last_day = max(last for _, (_, last) in wanted.values())
    values: dict[str, Any] = {
        "ids": ids,
        "first": first_day,
        "last": last_day,
        "starts": min(starts for starts, _ in spans.values()),
        "ends": max(ends for _, ends in spans.values()),
        "now": now,
        "leave_out": leave_out or 0,  # no appointment or offer has the id 0
        "leave_out_offer": leave_out_offer or 0,
    }
    for number, ((starts, ends), sites) in enumerate(groups.items()):
        values |= {
            f"ids_{number}": sites,
            f"starts_{number}": starts,
            f"ends_{number}": ends,
            # (Sites of different time zones may share a span on different local days.)
            f"weekdays_{number}": _weekdays(wanted[site][1] for site in sites),
        }
    connection = await session.connection()
    query = _calendars(connection.dialect.name == "sqlite", len(groups))
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
    ) in (await connection.execute(query, values)).all():
        if kind == BOOKED:
            held[site_id].append(Booked(number, starts, ends))
        elif kind == STATION:
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
    appointments = {site_id: list(booked) for site_id, booked in held.items()}
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
    return finders, appointments


def _weekdays(asked: Iterable[Days]) -> list[int]:
    """The weekdays of the days `asked` (first and last, both included)."""
    found: set[int] = set()
    for first, last in asked:
        span = min(7, (last - first).days + 1)
        found.update((first + timedelta(days=n)).weekday() for n in range(span))
    return sorted(found)


STATION, WEEKLY, DATED, CLOSED, OFFERED, OUT, BOOKED = range(7)
# The columns a station fills (as `WEEKLY_ROW` and the others do for the calendars).
STATION_ROW = {
    "number": Station.id,
    "nth": Station.position,
    "note": Station.kind,
    "flag": Station.accessible,
}


@lru_cache(maxsize=64)
def _calendars(
    sqlite: bool, groups: int
) -> Select[int, int, int, int, datetime, datetime, date, time, time, str, int, bool]:
    """The appointments holding a station in each of `groups` sets of sites and times
    (`ids_<n>`, between `starts_<n>` and `ends_<n>`) and those sites' weekly hours on the
    weekdays of their days (`weekdays_<n>`), and the active stations of the sites `ids`,
    their dated hours from
    `first` to `last`, their closures, held offers (at `now`) and station outages between
    `starts` and `ends`, in the columns: kind, site, station or weekday, position or nth
    in month, starts, ends, day, opens, closes, station kind or note or reason, outage
    id, accessible (NULL where a kind has none). Built once for each number of groups:
    its parameters are bound at each reading. Instants are read as the driver gives them
    on PostgreSQL (aware, in UTC), through `UTCDateTime` on SQLite (naive there)."""
    instant = Closure.starts_at.type if sqlite else DateTime(timezone=True)

    typed: dict[str, TypeEngine[Any]] = {
        "site_id": Integer(),
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

    def row(kind: int, site: Any, **given: Any) -> list[ColumnElement[Any]]:
        return union_part(kind, typed, site_id=site, **given)

    def overlapping(
        site: QueryableAttribute[int],
        starts: QueryableAttribute[datetime],
        ends: QueryableAttribute[datetime],
        group: str = "",
    ) -> ColumnElement[bool]:
        """Within the sites `ids` and the instants `starts` to `ends`; those of a group of
        sites (`ids_<n>` …) with its suffix as `group` (`_<n>`)."""
        return and_(
            site.in_(bindparam(f"ids{group}", expanding=True)),
            starts < bindparam(f"ends{group}"),
            ends > bindparam(f"starts{group}"),
        )

    def held(table: Any) -> dict[str, Any]:
        """The columns of a station held from a start to an end (by an appointment, an
        offer or an outage)."""
        return {"number": table.station_id, "starts": table.starts_at, "ends": table.ends_at}

    booked = select(*row(BOOKED, Appointment.site_id, **held(Appointment))).where(
        Appointment.status.not_in(RELEASED),
        Appointment.id != bindparam("leave_out"),
        or_(
            *(
                overlapping(
                    Appointment.site_id, Appointment.starts_at, Appointment.ends_at, f"_{number}"
                )
                for number in range(groups)
            )
        ),
    )
    query = union_all(
        booked,
        select(*row(STATION, Station.site_id, **STATION_ROW)).where(
            Station.site_id.in_(bindparam("ids", expanding=True)), Station.active
        ),
        select(*row(WEEKLY, WeeklyHours.site_id, **WEEKLY_ROW)).where(
            or_(
                *(
                    and_(
                        WeeklyHours.site_id.in_(bindparam(f"ids_{number}", expanding=True)),
                        WeeklyHours.weekday.in_(bindparam(f"weekdays_{number}", expanding=True)),
                    )
                    for number in range(groups)
                )
            )
        ),
        select(*row(DATED, HoursException.site_id, **DATED_ROW)).where(
            HoursException.site_id.in_(bindparam("ids", expanding=True)), *DATED_WITHIN
        ),
        select(*row(CLOSED, Closure.site_id, **CLOSURE_ROW)).where(
            overlapping(Closure.site_id, Closure.starts_at, Closure.ends_at)
        ),
        select(*row(OFFERED, Offer.site_id, **held(Offer))).where(
            Offer.status == OfferStatus.HELD,
            Offer.id != bindparam("leave_out_offer"),
            Offer.expires_at > bindparam("now"),
            overlapping(Offer.site_id, Offer.starts_at, Offer.ends_at),
        ),
        select(*row(OUT, Station.site_id, ident=StationOutage.id, **held(StationOutage)))
        .join(Station, Station.id == StationOutage.station_id)
        .where(overlapping(Station.site_id, StationOutage.starts_at, StationOutage.ends_at)),
    )
    return select(*query.subquery().c)
