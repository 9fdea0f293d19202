"""The figures over a year of data at the 17 mairies (about 400,000 tickets, 40 % of them
from appointments, with their visits, escalations and follow-up answers): one site-month
by day and by week, one site-year by month and all of Paris for a month by day, on SQLite
and PostgreSQL, each beside the bare SQL read of the raw rows it is computed from (the
floor).

Target: under 2 s per site-month query.
Run: .venv/bin/python -m bench.stats [--postgres URL] [--rounds N] [--tickets-per-day N]
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import itertools
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Executable, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import schema
from app.booking.models import Appointment
from app.db import Database
from app.queue.models import Ticket
from app.sites.demo import STATIONS_PER_SITE
from app.sites.hours import local_instant
from app.sites.models import Site
from app.stats.figures import figures
from app.stats.sql import By
from app.visits.models import Escalation, FollowUpAnswer, Visit
from bench.timing import line, on_each_database, percentiles, timed
from tests.history import fill

PARIS = ZoneInfo("Europe/Paris")
FIRST, LAST = date(2026, 1, 1), date(2026, 12, 31)
NOW = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
MONTHS = [(date(2026, m, 1), date(2026, m, calendar.monthrange(2026, m)[1])) for m in range(1, 13)]
TARGET_SECONDS = 2.0
SITE = "paris-15"

# The measurements.


@dataclass(frozen=True)
class Scope:
    """What one query covers: some sites, a range of days (the next one of `ranges` at
    each round), in periods of a day, a week or a month."""

    label: str
    slugs: tuple[str, ...]
    ranges: list[tuple[date, date]]
    by: By


SCOPES = [
    Scope(f"{SITE}, a month by day", (SITE,), MONTHS, "day"),
    Scope(f"{SITE}, a month by week", (SITE,), MONTHS, "week"),
    Scope(f"{SITE}, the year by month", (SITE,), [(FIRST, LAST)], "month"),
    Scope("all 17 mairies, a month by day", tuple(STATIONS_PER_SITE), MONTHS, "day"),
]


def raw_reads(site_ids: list[int], first: date, last: date) -> list[Executable]:
    """The bare reads of every raw row the figures of these sites and days come from."""
    starts = local_instant(first, datetime.min.time(), PARIS)
    ends = local_instant(last + timedelta(days=1), datetime.min.time(), PARIS)
    tickets = (Ticket.site_id.in_(site_ids), Ticket.day >= first, Ticket.day <= last)
    visits = (Visit.site_id.in_(site_ids), Visit.day >= first, Visit.day <= last)
    a, t = Appointment, Ticket
    return [
        select(a.starts_at, a.channel, a.status).where(
            a.site_id.in_(site_ids), a.starts_at >= starts, a.starts_at < ends
        ),
        select(
            t.day,
            t.service_id,
            t.station_id,
            t.status,
            t.appointment_id,
            t.arrived_at,
            t.due_at,
            t.first_called_at,
            t.started_at,
            t.finished_at,
        ).where(*tickets),
        select(Visit.day, Visit.outcome).where(*visits),
        select(
            Visit.day,
            Escalation.status,
            Escalation.department_id,
            Escalation.created_at,
            Escalation.answered_at,
        )
        .join(Visit, Visit.id == Escalation.visit_id)
        .where(*visits),
        select(Ticket.day, FollowUpAnswer.score)
        .join(Ticket, Ticket.id == FollowUpAnswer.ticket_id)
        .where(*tickets),
    ]


async def sites_of(session: AsyncSession, scope: Scope) -> list[Site]:
    return list(await session.scalars(select(Site).where(Site.slug.in_(scope.slugs))))


async def compare(db: Database, scope: Scope, rounds: int) -> tuple[list[float], list[float]]:
    """Samples of the figures of `scope` and of its floor, over the same ranges in turn."""
    computed_ranges = itertools.cycle(scope.ranges)
    read_ranges = itertools.cycle(scope.ranges)

    async def computed() -> object:
        first, last = next(computed_ranges)
        async with db.session() as session:
            sites = await sites_of(session, scope)
            return await figures(session, sites, first, last, scope.by, NOW)

    async def floor() -> object:
        first, last = next(read_ranges)
        async with db.session() as session:
            site_ids = [site.id for site in await sites_of(session, scope)]
            reads = raw_reads(site_ids, first, last)
            return [(await session.execute(read)).all() for read in reads]

    return await timed(computed, rounds, warm_up=2), await timed(floor, rounds, warm_up=2)


async def sample(db: Database) -> str:
    """A few of the figures of one site-month, to show what the data looks like."""
    first, last = MONTHS[2]
    async with db.session() as session:
        stats = await figures(session, await sites_of(session, SCOPES[0]), first, last, "day", NOW)
    total = stats.total
    return (
        f"{SITE} in {first:%B}: {total.tickets:,} tickets, {total.walk_ins:,} walk-ins, "
        f"{total.appointments.total:,} appointments, waiting median "
        f"{total.waiting_minutes.median} min, p90 {total.waiting_minutes.p90} min, "
        f"service level {total.service_level.rate}, outcomes {total.outcomes}"
    )


async def measure(url: str, label: str, rounds: int, tickets_per_day: int) -> None:
    await asyncio.to_thread(schema.upgrade, url)
    db = Database(url)
    started = time.perf_counter()
    counts = await fill(db, FIRST, LAST, tickets_per_day=tickets_per_day, now=NOW)
    filled = time.perf_counter() - started
    print(f"{label}: a year at 17 mairies filled in {filled:.0f} s")
    print("  " + ", ".join(f"{count:,} {table}" for table, count in counts.items()))
    print(f"  {await sample(db)}")
    print(f"  target: a site-month query under {TARGET_SECONDS:.0f} s (p95, not asserted)")
    for scope in SCOPES:
        computed, read = await compare(db, scope, rounds)
        ratio = percentiles(computed)[1] / percentiles(read)[1]
        print(f"  {scope.label} ({rounds} rounds)")
        print(f"    figures()              {line(computed)}")
        print(f"    floor: raw rows read   {line(read)}   figures p95 / floor p95 {ratio:.1f}×")
    await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--tickets-per-day",
        type=int,
        default=93,
        help="on average, per mairie and open day (93: about 400,000 tickets in the year)",
    )
    args = parser.parse_args()
    await on_each_database(
        lambda url, label: measure(url, label, args.rounds, args.tickets_per_day), args.postgres
    )


if __name__ == "__main__":
    asyncio.run(main())
