"""What a site's waiting estimates are worked out from (`eta.forecast`), read in one
statement: the tickets in line, the stations in service now with when each was last seen
at work and what it is busy with, each service's latest durations and catalog time, and
the booked people due later today. A walk-in's answer, a tracking page, a queue's view and
a call's "your turn is near" texts each read it, so it is one round trip, not seven.

The statement is a UNION ALL of one row shape (`COLUMNS`): each part fills the columns it
has and leaves the others NULL, typed, so that both databases read every part alike."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum
from functools import cache
from operator import attrgetter
from typing import Any

from sqlalchemy import Boolean, Integer, String, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.selectable import Subquery
from sqlalchemy.types import TypeEngine

from app.booking.models import Appointment, AppointmentStatus
from app.booking.queries import requirement_with
from app.db import JSONValue, UTCDateTime, union_part
from app.queue import eta
from app.queue.models import Ticket, TicketEvent, TicketStatus
from app.queue.ordering import Caller, Waiting
from app.queue.queries import IN_LINE, WAITING_COLUMNS, out_of_service, threshold, today
from app.sites.models import Need, Service, Site, Station

AVERAGE_OVER_DAYS = 90


class Part(IntEnum):
    """What a row of the statement is."""

    IN_LINE = 0  # a ticket in line: id, service, arrived, due, priority, accessible, kind
    BUSY = 1  # a station with a ticket called or served: station, service, started, called
    SEEN = 2  # a station's latest move of a ticket in the last 12 hours: station, at
    STATION = 3  # a station in service now: id, accessible, kind
    DURATION = 4  # a latest service: service, its rank (newest first), started, finished
    SERVICE = 5  # a service of the catalog: id, its duration in minutes
    EXPECTED = 6  # a booked person due later today: appointment, service, starts, needs


COLUMNS: dict[str, TypeEngine[Any]] = {
    "n1": Integer(),
    "n2": Integer(),
    "t1": UTCDateTime(),
    "t2": UTCDateTime(),
    "f1": Boolean(),
    "f2": Boolean(),
    "s1": String(),
    "j1": JSONValue,
}

# The columns a ticket in line fills, in the order of the fields of `Waiting` (and of
# `WAITING_COLUMNS`, which fill them).
IN_LINE_SLOTS = ("n1", "t1", "t2", "f1", "s1", "f2", "n2")
_in_line = attrgetter(*IN_LINE_SLOTS)


def _row(part: Part, **given: Any) -> list[ColumnElement[Any]]:
    return union_part(part, COLUMNS, **given)


@dataclass(frozen=True)
class ForecastInputs:
    """What the estimates need beyond the waiting tickets (`eta.forecast`)."""

    stations: list[eta.OpenStation]
    times: dict[int, eta.ServiceTimes]
    expected: list[Waiting]
    threshold: timedelta

    def forecast(self, waiting: Sequence[Waiting], now: datetime) -> dict[int, eta.Forecast]:
        return eta.forecast(
            waiting,
            self.stations,
            self.times,
            eta.service_times([], eta.DEFAULT_MINUTES),
            now,
            self.threshold,
            self.expected,
        )


def latest_durations(site: Any, since: Any) -> Subquery:
    """The help times of the site's tickets finished `since`, ranked newest first within
    each service (`rank`): the latest `eta.SAMPLE_SIZE` of each are what it takes."""
    rank = (
        func.row_number()
        .over(partition_by=Ticket.service_id, order_by=Ticket.finished_at.desc())
        .label("rank")
    )
    return (
        select(Ticket.service_id, Ticket.started_at, Ticket.finished_at, rank)
        .where(
            Ticket.site_id == site,
            Ticket.status == TicketStatus.DONE,
            Ticket.started_at.is_not(None),
            Ticket.finished_at > since,
        )
        .subquery()
    )


@cache
def _statement(in_line: bool) -> Any:
    """The statement, built once (its values bound at each reading: `_values`)."""
    site: BindParameter[int] = bindparam("site")
    day: BindParameter[date] = bindparam("day")
    now: BindParameter[datetime] = bindparam("now")
    recent = latest_durations(site, bindparam("durations_since"))
    parts = [
        select(
            *_row(
                Part.BUSY,
                n1=Ticket.station_id,
                n2=Ticket.service_id,
                t1=Ticket.started_at,
                t2=Ticket.called_at,
            )
        ).where(
            Ticket.site_id == site,
            Ticket.day == day,
            Ticket.status.in_((TicketStatus.CALLED, TicketStatus.SERVING)),
            Ticket.station_id.is_not(None),
        ),
        select(*_row(Part.SEEN, n1=TicketEvent.station_id, t1=func.max(TicketEvent.at)))
        .where(
            TicketEvent.site_id == site,
            TicketEvent.at > bindparam("seen_since"),
            TicketEvent.at <= now,
            TicketEvent.station_id.is_not(None),
        )
        .group_by(TicketEvent.station_id),
        select(*_row(Part.STATION, n1=Station.id, f2=Station.accessible, s1=Station.kind)).where(
            Station.site_id == site, Station.active, ~out_of_service(now)
        ),
        select(
            *_row(
                Part.DURATION,
                n1=recent.c.service_id,
                n2=recent.c.rank,
                t1=recent.c.started_at,
                t2=recent.c.finished_at,
            )
        ).where(recent.c.rank <= eta.SAMPLE_SIZE),
        select(
            *_row(Part.SERVICE, n1=Service.id, n2=Service.duration_minutes, s1=Service.station_kind)
        ),
        select(
            *_row(
                Part.EXPECTED,
                n1=Appointment.id,
                n2=Appointment.service_id,
                t1=Appointment.starts_at,
                j1=Appointment.needs,
            )
        ).where(
            Appointment.site_id == site,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at > bindparam("due_from"),
            Appointment.starts_at <= bindparam("due_until"),
        ),
    ]
    if in_line:
        ticket = dict(zip(IN_LINE_SLOTS, WAITING_COLUMNS, strict=True))
        parts.insert(
            0,
            select(*_row(Part.IN_LINE, **ticket)).where(
                Ticket.site_id == site, Ticket.day == day, Ticket.status.in_(IN_LINE)
            ),
        )
    return parts[0].union_all(*parts[1:])


def _values(site: Site, now: datetime) -> dict[str, Any]:
    return {
        "site": site.id,
        "day": today(site, now),
        "now": now,
        "durations_since": now - timedelta(days=AVERAGE_OVER_DAYS),
        "seen_since": now - timedelta(hours=12),
        "due_from": now - timedelta(minutes=site.check_in_late_minutes),
        "due_until": now + eta.LATER_WITHIN,
    }


async def read(
    session: AsyncSession, site: Site, now: datetime, *, in_line: bool = True
) -> tuple[list[Waiting], ForecastInputs]:
    """The site's tickets in line today (none read unless `in_line`: the caller has
    them), and what their estimates are worked out from: one statement, and a second
    one for the needs of the booked people expected, when they have any."""
    by_part: dict[int, list[Any]] = defaultdict(list)
    for row in await session.execute(_statement(in_line), _values(site, now)):
        by_part[row.part].append(row)
    waiting = [Waiting(*_in_line(r)) for r in by_part[Part.IN_LINE]]
    busy = {r.n1: (r.t1 or r.t2 or now, r.n2) for r in by_part[Part.BUSY]}
    seen = {r.n1: r.t1 for r in by_part[Part.SEEN]}
    stations = [
        eta.OpenStation(
            Caller(kind=r.s1, accessible=r.f2),
            last_seen=seen.get(r.n1),
            busy_since=busy[r.n1][0] if r.n1 in busy else None,
            busy_with=busy[r.n1][1] if r.n1 in busy else None,
        )
        for r in sorted(by_part[Part.STATION], key=lambda r: r.n1)
    ]
    durations: dict[int, list[float]] = defaultdict(list)
    for r in sorted(by_part[Part.DURATION], key=lambda r: (r.n1, r.n2)):
        durations[r.n1].append((r.t2 - r.t1).total_seconds() / 60)
    catalog = {r.n1: (r.n2, r.s1) for r in by_part[Part.SERVICE]}
    times = {
        service_id: eta.service_times(durations.get(service_id, []), minutes)
        for service_id, (minutes, _kind) in catalog.items()
    }
    expected = await _expected(session, by_part[Part.EXPECTED], catalog)
    return waiting, ForecastInputs(stations, times, expected, threshold(site))


async def _expected(
    session: AsyncSession, rows: list[Any], catalog: dict[int, tuple[int, str]]
) -> list[Waiting]:
    """The booked people due later today (or a little late) who are not here yet, as
    waiting tickets of negative ids."""
    codes = {code for row in rows for code in row.j1 or ()}
    needs: dict[str, Need] = {}
    if codes:
        found = await session.scalars(select(Need).where(Need.code.in_(codes)))
        needs = {need.code: need for need in found}
    expected = []
    for row in sorted(rows, key=lambda row: (row.t1, row.n1)):
        minutes, kind = catalog[row.n2]
        chosen = [needs[code] for code in row.j1 or () if code in needs]
        need = requirement_with(minutes, kind, chosen)
        expected.append(
            Waiting(
                id=-row.n1,
                arrived_at=row.t1,
                due_at=row.t1,
                kind=need.kind,
                accessible=need.accessible,
                service=row.n2,
            )
        )
    return expected
