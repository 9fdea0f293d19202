"""A mairie's opening times: its weekly hours, the dated days with their own hours (or
closed), and its closures for a period.

Each change is checked in plain words (`rules`) and written with its audit event in one
transaction. Booked appointments it strands are moved to another station at the same time,
or called off, each person told once (`disruption`); past ones stay as they are.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.actors import Actor
from app.errors import BadRequest, Invalid, NotFound, refuse
from app.i18n import gettext
from app.sites.commands import add_period, place_and_record, record, running
from app.sites.disruption import Disruption, Period, lock_ahead, lock_days, lock_period
from app.sites.hours import WEEKDAYS, local_instant
from app.sites.models import Closure, HoursException, Site, WeeklyHours
from app.sites.queries import DayException, site_row
from app.sites.rules import MAX_REASON, Ranges, check_period, check_ranges, clean_text, range_texts
from app.sites.service import local_today

# Weekly hours and dated exceptions


async def set_weekday_hours(
    session: AsyncSession, actor: Actor, slug: str, weekday: int, ranges: Ranges, *, now: datetime
) -> Disruption:
    """Replace a weekday's ordinary opening ranges (none: closed that day). Rows kept for
    one occurrence in the month (`nth_in_month`) stay as they are."""
    if not 0 <= weekday <= 6:
        raise BadRequest(f"A weekday is one of {', '.join(WEEKDAYS)}.")
    refuse(check_ranges(ranges))
    async with running(session, actor, slug) as site:
        await lock_ahead(session, site, now)
        # Row by row, not one DELETE: the summary of free time hears of each.
        for row in await session.scalars(
            select(WeeklyHours).where(
                WeeklyHours.site_id == site.id,
                WeeklyHours.weekday == weekday,
                WeeklyHours.nth_in_month.is_(None),
            )
        ):
            await session.delete(row)
        session.add_all(
            WeeklyHours(site_id=site.id, weekday=weekday, opens=opens, closes=closes)
            for opens, closes in sorted(ranges)
        )
        await session.flush()
        disruption = await place_and_record(
            session,
            "hours.changed",
            actor,
            site,
            now,
            Period(since=now),
            weekday=WEEKDAYS[weekday],
            ranges=range_texts(ranges),
        )
    return disruption


async def set_exception(
    session: AsyncSession,
    actor: Actor,
    slug: str,
    day: date,
    ranges: Ranges,
    *,
    reason: str,
    now: datetime,
) -> tuple[DayException, Disruption]:
    """Give one dated day its own hours (none: closed all day), replacing any it had; and
    what that did to the day's appointments. The same hours and reason the day has already
    (a form sent twice) change nothing and tell nobody (`Disruption.already`)."""
    refuse(check_ranges(ranges))
    clean_reason = clean_text(reason, "reason", MAX_REASON, required=False)
    async with running(session, actor, slug) as site:
        if day < local_today(site, now):
            raise Invalid.one(
                "day",
                "This day is past.",
                gettext("Ce jour est passé : choisissez aujourd'hui ou un jour à venir."),
            )
        await lock_days(session, site, day, day)
        had = await _exceptions_of(session, site, day)
        same = DayException(day, sorted(ranges), clean_reason)
        if had and _as_day(day, had) == same:
            return same, Disruption(already=True)
        for row in had:
            await session.delete(row)
        rows = [
            HoursException(site_id=site.id, day=day, opens=o, closes=c, reason=clean_reason)
            for o, c in sorted(ranges)
        ] or [HoursException(site_id=site.id, day=day, reason=clean_reason)]
        session.add_all(rows)
        await session.flush()
        tz = ZoneInfo(site.timezone)
        since = local_instant(day, time(0), tz)
        until = local_instant(day + timedelta(days=1), time(0), tz)
        disruption = await place_and_record(
            session,
            "hours_exception.added",
            actor,
            site,
            now,
            Period(since=since, until=until),
            told=clean_reason,
            day=day.isoformat(),
            ranges=range_texts(ranges),
            reason=clean_reason,
        )
    return DayException(day, sorted(ranges), clean_reason), disruption


async def delete_exception(
    session: AsyncSession, actor: Actor, slug: str, day: date, *, now: datetime
) -> None:
    """The day follows the week's hours again."""
    async with running(session, actor, slug) as site:
        removed = await _exceptions_of(session, site, day)
        for row in removed:
            await session.delete(row)
        if not removed:
            raise NotFound(f"{site.name} has no special hours on {day.isoformat()}.")
        await record(session, "hours_exception.deleted", actor, site, now, day=day.isoformat())


def _as_day(day: date, rows: list[HoursException]) -> DayException:
    """The day's own hours as its rows hold them (one row without times: closed)."""
    ranges = sorted((r.opens, r.closes) for r in rows if r.opens and r.closes)
    return DayException(day, ranges, rows[0].reason)


async def _exceptions_of(session: AsyncSession, site: Site, day: date) -> list[HoursException]:
    """The rows of a dated day's own hours, to delete one by one (the summary of free time
    hears of ORM deletes, not of DELETE statements)."""
    query = select(HoursException).where(
        HoursException.site_id == site.id, HoursException.day == day
    )
    return list(await session.scalars(query))


# Closures


async def add_closure(
    session: AsyncSession,
    actor: Actor,
    slug: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    now: datetime,
) -> tuple[Closure, Disruption]:
    """Close the site for a period: nothing is offered then, and the appointments to come
    in it are listed for the manager, each person told once. Past ones stay as they are."""
    check_period(starts_at, ends_at, now, "closure")
    clean_reason = clean_text(reason, "reason", MAX_REASON, required=False)
    async with running(session, actor, slug) as site:
        await lock_period(session, site, starts_at, ends_at)
        closure = Closure(
            site_id=site.id, starts_at=starts_at, ends_at=ends_at, reason=clean_reason
        )
        closure, disruption = await add_period(
            session, "closure.added", actor, site, now, closure, told=clean_reason
        )
    return closure, disruption


async def delete_closure(
    session: AsyncSession, actor: Actor, slug: str, closure_id: int, *, now: datetime
) -> None:
    """The closure is called off: the period is offered again."""
    async with running(session, actor, slug) as site:
        closure = await site_row(session, site, Closure, closure_id, "closure")
        await session.delete(closure)
        await record(session, "closure.deleted", actor, site, now, closure=closure_id)
