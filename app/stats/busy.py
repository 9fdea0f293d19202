"""How busy a mairie usually is, per weekday and opening hour, from the tickets issued there
(every arrival: walk-ins, appointments checking in, remote joins) over the last weeks.

The rule (a pure function, `busy_hours`):
- Each open hour of the usual week gets a rate: the tickets that arrived in it over the
  weeks, divided by the minutes the mairie is open in that hour (8 h 30–9 h counts 30
  minutes, so a half-open hour is not called calm for being short).
- The level compares that rate with the site's own mean rate over all its open hours:
  below 0.75 times the mean, "calm"; above 1.25 times, "busy"; otherwise "usual". A ratio
  to the site's mean, not terciles: terciles would call a third of the hours busy even in
  a mairie where every hour is alike.
- Hours the mairie is closed in its usual week are left out, weekdays with no open hour too.
- Fewer than `MIN_TICKETS` tickets over the weeks is too little to tell: every open hour is
  "usual", and `enough` says so (the mairie's page then says it does not know yet).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.queue.models import Ticket
from app.sites.hours import WEEKDAYS, local_instant
from app.sites.models import Site
from app.sites.queries import weekly_ranges, weekly_rows

WEEKS = 8
MIN_TICKETS = 40
CALM_BELOW = 0.75
BUSY_ABOVE = 1.25


class Level(StrEnum):
    CALM = "calm"
    USUAL = "usual"
    BUSY = "busy"


@dataclass(frozen=True, slots=True)
class BusyHour:
    hour: int
    level: Level


@dataclass(frozen=True, slots=True)
class BusyDay:
    weekday: int  # 0 = Monday
    hours: tuple[BusyHour, ...]

    @property
    def name(self) -> str:
        """ "mon", as the API writes weekdays."""
        return WEEKDAYS[self.weekday]


@dataclass(frozen=True, slots=True)
class BusyWeek:
    weeks: int
    tickets: int
    enough: bool
    days: tuple[BusyDay, ...]

    @property
    def hours(self) -> list[int]:
        """Every hour open on some weekday, in order: the columns of a table."""
        return sorted({hour.hour for day in self.days for hour in day.hours})


def open_minutes(ranges: Mapping[int, Sequence[tuple[time, time]]]) -> dict[tuple[int, int], int]:
    """How many minutes of each (weekday, hour) the usual week is open."""
    minutes: Counter[tuple[int, int]] = Counter()
    for weekday, day_ranges in ranges.items():
        for opens, closes in day_ranges:
            start = opens.hour * 60 + opens.minute
            end = closes.hour * 60 + closes.minute
            for hour in range(opens.hour, closes.hour + 1):
                overlap = min(end, (hour + 1) * 60) - max(start, hour * 60)
                if overlap > 0:
                    minutes[(weekday, hour)] += overlap
    return dict(minutes)


def level_of(ratio: float) -> Level:
    if ratio < CALM_BELOW:
        return Level.CALM
    if ratio > BUSY_ABOVE:
        return Level.BUSY
    return Level.USUAL


def busy_hours(
    arrivals: Iterable[datetime],
    ranges: Mapping[int, Sequence[tuple[time, time]]],
    tz: ZoneInfo,
    *,
    weeks: int = WEEKS,
    min_tickets: int = MIN_TICKETS,
) -> BusyWeek:
    """The level of each open hour of the usual week (`ranges`: the ordinary opening
    ranges per weekday, 0 = Monday), from the instants tickets arrived at (aware)."""
    minutes = open_minutes(ranges)
    counts: Counter[tuple[int, int]] = Counter()
    for instant in arrivals:
        local = instant.astimezone(tz)
        key = (local.weekday(), local.hour)
        if key in minutes:
            counts[key] += 1
    total = sum(counts.values())
    enough = total >= min_tickets
    mean = total / sum(minutes.values()) if minutes else 0.0
    days = []
    for weekday in range(7):
        hours = tuple(
            BusyHour(
                hour,
                level_of(counts[(weekday, hour)] / minutes[(weekday, hour)] / mean)
                if enough and mean > 0
                else Level.USUAL,
            )
            for hour in range(24)
            if (weekday, hour) in minutes
        )
        if hours:
            days.append(BusyDay(weekday, hours))
    return BusyWeek(weeks=weeks, tickets=total, enough=enough, days=tuple(days))


def window(today: date, tz: ZoneInfo, weeks: int = WEEKS) -> tuple[datetime, datetime]:
    """The `weeks` whole weeks before `today` (today left out, so each weekday counts the
    same number of times), as instants."""
    first = today - timedelta(weeks=weeks)
    return local_instant(first, time(0), tz), local_instant(today, time(0), tz)


async def arrivals_at(
    session: AsyncSession, site: Site, starts: datetime, ends: datetime
) -> list[datetime]:
    """When each ticket issued at `site` between two instants arrived."""
    query = select(Ticket.arrived_at).where(
        Ticket.site_id == site.id, Ticket.arrived_at >= starts, Ticket.arrived_at < ends
    )
    return list(await session.scalars(query))


async def busy_week(session: AsyncSession, site: Site, today: date) -> BusyWeek:
    """How busy `site` usually is, from the `WEEKS` weeks before `today` (local date)."""
    tz = ZoneInfo(site.timezone)
    starts, ends = window(today, tz)
    ranges = weekly_ranges(await weekly_rows(session, site))
    return busy_hours(await arrivals_at(session, site, starts, ends), ranges, tz)
