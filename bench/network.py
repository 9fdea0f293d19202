"""A national network: 2,000 generated sites over metropolitan France beside the 17
Paris mairies, a month of bookings at each, and what that size does to the search, the
lobby screens, the outbox and the figures; each figure beside its floor, measured in the
same run. No target, no assertion: figures to read.

Parts (`--parts`, in this order):
- search: one site's 31-day availability, the first free slot across the 50 nearest
  sites and across all of them, through HTTP in-process (PostgreSQL, then SQLite);
  floor: the bare SQL read of one site's month of appointments. `--paris` instead
  measures the 17 mairies alone (the demo with a month of bookings, no generated site).
- screens: a call's delay to 10,000 lobby screens on two `guichet serve` instances, with
  PostgreSQL notices and with Redis; floor: a bare `websockets.broadcast` server, in one
  process and in two; the four held at once and called in turn (`bench.network_screens`).
  `--calls 500` for a p99 worth comparing.
- outbox: 100,000 due messages to a local SMTP server by one and two instances;
  floor: four bare SMTP clients.
- figures: a month of activity at every site, then the figures of all sites for the
  month (`app.stats.figures`); floor: the bare read of the raw rows (`bench.stats`).

Run: .venv/bin/python -m bench.network [--sites 2000] [--parts search,screens,outbox,figures]
     [--postgres URL] [--keep] [--paris] [--screens 10000] [--calls 20] [--messages 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import asyncpg
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text

from app import schema
from app.asgi import create_app
from app.config import load_settings
from app.db import Database
from app.queue.models import Ticket
from app.sites.demo import STATIONS_PER_SITE
from app.sites.hours import local_instant
from app.sites.models import Site
from app.sites.service import site_calendar
from app.stats.figures import figures
from app.stats.sql import By
from app.visits.models import Department
from bench import network_screens
from bench.availability import bare_read
from bench.network_data import FRANCE, PREFIX, first_day, generate, generated_sites, utc_now
from bench.outbox import fill as fill_outbox
from bench.outbox import smtp_rate
from bench.stats import raw_reads
from bench.timing import percentiles
from tests.history import TABLES, Year, desks_by_site, insert_rows
from tests.mail import smtp_server
from tests.servers import Server

PARTS = ("search", "screens", "outbox", "figures")
SEARCH_SECONDS = 90.0  # the most one search figure samples for, after its first 3 rounds
FIGURE_SECONDS = 120.0
OUTBOX_SECONDS = 900.0
SMTP_PORT, OUTBOX_PORT = 8730, 8731  # the screens use 8740-8760


async def sampled(
    work: Callable[[], Awaitable[object]], rounds: int, seconds: float, warm_up: int = 1
) -> list[float]:
    """Seconds taken by each call of `work`: `rounds` of them, or fewer (at least 3) when
    `seconds` have gone by; a slow search must not hold the run for an hour."""
    for _ in range(warm_up):
        await work()
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(samples) < rounds and (len(samples) < 3 or time.perf_counter() < deadline):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return samples


def line(label: str, samples: list[float]) -> str:
    p50, p95 = percentiles(samples)
    return f"    {label:<52} p50 {p50:9.1f} ms   p95 {p95:9.1f} ms   ({len(samples)} rounds)"


# The databases.


def server_of(postgres: str) -> str:
    return postgres.rsplit("/", 1)[0]


async def prepared_postgres(postgres: str, sites: int, keep: bool, now: datetime) -> str:
    """The network database `bench_network_<sites>`: reused when kept from an earlier run
    with as many sites, else made afresh."""
    name = f"bench_network_{sites}"
    url = f"{server_of(postgres)}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    admin = await asyncpg.connect(postgres)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and keep:
            db = Database(url)
            found = len(await generated_sites(db))
            await db.dispose()
            if found == sites:
                print(f"postgresql: reusing {name} ({found} generated sites, kept)")
                return url
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await fill(url, "postgresql", sites, now)
    return url


async def fill(url: str, label: str, sites: int, now: datetime) -> None:
    await asyncio.to_thread(schema.upgrade, url)
    db = Database(url)
    print(f"{label}: generating {sites} sites and a month of bookings")
    made = await generate(db, sites, now)
    await db.dispose()
    print(
        f"  {made.sites:,} generated sites (and the 17 mairies), {made.stations:,} stations, "
        f"{made.appointments:,} appointments, in {made.seconds:.0f} s"
    )


async def drop(postgres: str, sites: int) -> None:
    admin = await asyncpg.connect(postgres)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "bench_network_{sites}" WITH (FORCE)')
    finally:
        await admin.close()


# The search.


async def search(url: str, label: str, now: datetime, rounds: int, paris: bool) -> None:
    """One site's 31-day search, the first free slot near it and everywhere, its floor."""
    db = Database(url)
    settings = load_settings(
        environ={},
        overrides={
            "database_url": url,
            "log_level": "WARNING",
            "availability_requests_per_minute": 1_000_000,
            "requests_per_minute": 10_000_000,
        },
    )
    async with db.session() as session:
        count = await session.scalar(select(func.count(Site.id)))
    slug = "paris-15" if paris else f"{PREFIX}0001"
    first = first_day(now)
    last = first + timedelta(days=30)
    window = {"service": "caf", "from": first.isoformat(), "to": last.isoformat()}
    starts = local_instant(first, datetime.min.time(), FRANCE)
    ends = local_instant(last + timedelta(days=1), datetime.min.time(), FRANCE)
    print(f"{label}: search at {count} sites, from {first} to {last}, démarche caf")
    # The evening before the month of bookings, whatever the hour of the run: every place's
    # first free slot is then on a booked day, read in full (run in the daytime, the first
    # slot was today's, on an empty day, and the nearest places' search read nothing).
    seven_pm = datetime.min.time().replace(hour=19)
    evening = max(now, local_instant(first - timedelta(days=1), seven_pm, FRANCE))
    print(f"  the searches' clock: {evening.astimezone(FRANCE):%Y-%m-%d %H:%M} in Paris")
    app = create_app(settings, clock=lambda: evening)
    # Its background jobs say when they are late or cut short at the end: noise here.
    logging.getLogger("apscheduler").setLevel(logging.CRITICAL)
    async with AsyncTestClient(app=app, timeout=600) as client:

        def getter(path: str, params: dict[str, str]) -> Callable[[], Awaitable[object]]:
            async def get() -> object:
                response = await client.get(path, params=params)
                assert response.status_code == 200, response.text
                return response.json()

            return get

        one = getter(f"/api/v1/sites/{slug}/availability", window)
        near = getter(
            "/api/v1/availability/first",
            {"service": "caf", "near": slug, "order": "distance", "limit": "50"},
        )
        everywhere = getter(
            "/api/v1/availability/first",
            {"service": "caf"} if paris else {"service": "caf", "limit": "50"},
        )

        async def floor() -> object:
            return await bare_read(db, slug, starts, ends)

        offered = len((await one())["slots"])  # type: ignore[index]
        booked = len(await floor())  # type: ignore[arg-type]
        a = await sampled(one, rounds, SEARCH_SECONDS, warm_up=5)
        floor_samples = await sampled(floor, rounds, SEARCH_SECONDS, warm_up=5)
        found = await everywhere()
        c = await sampled(everywhere, rounds, SEARCH_SECONDS)
        b = [] if paris else await sampled(near, rounds, SEARCH_SECONDS)
    await db.dispose()
    print(f"  {slug}: {booked} appointments in the 31 days, {offered} caf slots offered")
    print(line(f"(a) GET …/sites/{slug}/availability, 31 days", a))
    if b:
        print(line("(b) GET …/availability/first, 50 nearest", b))
    whole = f"all {count} sites" + ("" if paris else ", limit 50")
    print(line(f"({'d' if paris else 'c'}) GET …/availability/first, {whole}", c))
    print(f"      ({len(found['slots'])} first slots returned)")  # type: ignore[index]
    print(line("floor: bare SQL read of one site's month", floor_samples))
    a50, a95 = percentiles(a)
    for name, samples in (("b/a", b), ("d/a" if paris else "c/a", c)):
        if samples:
            p50, p95 = percentiles(samples)
            print(f"    ratio {name}: p50 {p50 / a50:6.1f}×   p95 {p95 / a95:6.1f}×")
    f95 = percentiles(floor_samples)[1]
    print(f"    (a) p95 / floor p95: {a95 / f95:.1f}×")


# The outbox.


async def delivered(url: str, instances: int, count: int) -> tuple[int, float]:
    """`count` due messages written at once, then delivered by `instances` servers: how
    many arrived, and how long it took (at most OUTBOX_SECONDS)."""
    db = Database(url)
    with tempfile.TemporaryDirectory() as folder, smtp_server(SMTP_PORT) as smtp:
        environment = {
            "GUICHET_DATABASE_URL": url,
            "GUICHET_LOG_LEVEL": "WARNING",
            "GUICHET_SMTP_HOST": "127.0.0.1",
            "GUICHET_SMTP_PORT": str(smtp.port),
            "GUICHET_SMTP_SECURITY": "none",
            "GUICHET_DISPATCH_EVERY_SECONDS": "0.5",
        }
        servers = [
            Server(Path(folder), port, environment)
            for port in range(OUTBOX_PORT, OUTBOX_PORT + instances)
        ]
        try:
            for server in servers:
                server.launch()
            for server in servers:
                await asyncio.to_thread(server.wait_until_ready)
            await fill_outbox(db, count)
            started = time.perf_counter()
            await asyncio.to_thread(smtp.mailbox.wait_for, count, OUTBOX_SECONDS)
            elapsed = time.perf_counter() - started
        finally:
            for server in servers:
                await asyncio.to_thread(server.stop)
        received = smtp.mailbox.count()
    await db.dispose()
    return received, elapsed


async def outbox_part(url: str, count: int) -> None:
    print(f"outbox: {count:,} due messages to a local SMTP server, PostgreSQL")
    sent, elapsed = await smtp_rate(count, SMTP_PORT)
    floor = sent / elapsed
    for instances in (1, 2):
        received, elapsed = await delivered(url, instances, count)
        rate = received / elapsed
        print(
            f"  {instances} instance{'s' if instances > 1 else ' '}  {received:>7,} delivered "
            f"in {elapsed:6.1f} s   {rate:7.1f}/s   (floor {floor:7.1f}/s, {rate / floor:.2f}× it)"
        )


# The figures.


def last_month(now: datetime) -> tuple[date, date]:
    today = now.astimezone(FRANCE).date()
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


async def fill_month(db: Database, first: date, last: date, per_day: int, now: datetime) -> None:
    """`tests.history`'s activity (tickets, appointments, visits, escalations, answers) at
    every site on its open days of the month, numbered after the rows already there."""
    async with db.session() as session:
        sites = list(await session.scalars(select(Site).order_by(Site.id)))
        calendars = [await site_calendar(session, site, first, last) for site in sites]
        desks = await desks_by_site(session)
        departments = list(await session.scalars(select(Department.id)))
        highest = {
            model: await session.scalar(select(func.coalesce(func.max(model.id), 0)))  # type: ignore[attr-defined]
            for model in TABLES
        }
    history = Year(random.Random(2026), departments, per_day, now)
    history.ids = {model: itertools.count((highest[model] or 0) + 1) for model in TABLES}
    for site, site_hours in zip(sites, calendars, strict=True):
        for open_day in site_hours.days(first, last):
            if open_day.is_open and site.id in desks:
                history.add_day(site.id, desks[site.id], open_day)
            if history.full():
                await insert_rows(db, history.take())
    await insert_rows(db, history.take())
    print("  " + ", ".join(f"{count:,} {table}" for table, count in history.counts.items()))
    if not db.is_sqlite:
        async with db.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            for model in TABLES:
                table = model.__tablename__
                # Our own table names, not input.
                await connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
                )
            await connection.execute(text("VACUUM ANALYZE"))


async def figures_and_floor(
    db: Database, ids: list[int], first: date, last: date, by: By, now: datetime, rounds: int
) -> tuple[list[float], list[float]]:
    """Samples of the figures of these sites over the days, and of their floor."""

    async def computed() -> object:
        async with db.session() as session:
            chosen = list(await session.scalars(select(Site).where(Site.id.in_(ids))))
            return await figures(session, chosen, first, last, by, now)

    async def floor() -> object:
        async with db.session() as session:
            return [(await session.execute(read)).all() for read in raw_reads(ids, first, last)]

    done = await sampled(computed, rounds, FIGURE_SECONDS, warm_up=0)
    return done, await sampled(floor, rounds, FIGURE_SECONDS, warm_up=0)


async def figures_part(url: str, now: datetime, per_day: int, rounds: int) -> None:
    first, last = last_month(now)
    db = Database(url)
    async with db.session() as session:
        filled = await session.scalar(
            select(func.count(Ticket.id)).where(Ticket.day >= first, Ticket.day <= last)
        )
    print(f"figures: {first:%B %Y} at every site, about {per_day} tickets per site and open day")
    if not filled:
        started = time.perf_counter()
        await fill_month(db, first, last, per_day, now)
        print(f"  filled in {time.perf_counter() - started:.0f} s")
    else:
        print(f"  reusing the {filled:,} tickets of the month (kept)")
    async with db.session() as session:
        every = list(await session.scalars(select(Site).order_by(Site.id)))
    paris = [site for site in every if site.slug in STATIONS_PER_SITE]
    scopes: list[tuple[str, list[Site], By]] = [
        (f"one site ({every[-1].slug}), the month by day", [every[-1]], "day"),
        ("the 17 mairies, the month by day", paris, "day"),
        (f"all {len(every)} sites, the month by day", every, "day"),
        (f"all {len(every)} sites, the month by week", every, "week"),
    ]
    for label, sites, by in scopes:
        done, read = await figures_and_floor(
            db, [site.id for site in sites], first, last, by, now, rounds
        )
        ratio = percentiles(done)[1] / percentiles(read)[1]
        print(f"  {label}")
        print(line("figures()", done))
        print(line("floor: raw rows read", read) + f"   figures/floor p95 {ratio:.1f}×")
    await db.dispose()


# The run.


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--paris", action="store_true", help="the 17 mairies' search alone")
    parser.add_argument("--no-sqlite", action="store_true", help="search on PostgreSQL only")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--screens", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--tickets-per-day", type=int, default=20)
    args = parser.parse_args()
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    now = utc_now()
    if args.paris:
        await paris(args.postgres, now, args.rounds, not args.no_sqlite)
        return
    url = await prepared_postgres(args.postgres, args.sites, args.keep, now)
    try:
        if "search" in parts:
            await search(url, "postgresql", now, args.rounds, paris=False)
            if not args.no_sqlite:
                with tempfile.TemporaryDirectory() as folder:
                    lite = f"sqlite+aiosqlite:///{Path(folder) / 'network.db'}"
                    await fill(lite, "sqlite", args.sites, now)
                    await search(lite, "sqlite", now, args.rounds, paris=False)
        if "screens" in parts:
            await network_screens.screens_part(url, args.screens, args.calls)
        if "outbox" in parts:
            await outbox_part(url, args.messages)
        if "figures" in parts:
            await figures_part(url, now, args.tickets_per_day, max(3, args.rounds // 10))
    finally:
        if not args.keep:
            await drop(args.postgres, args.sites)


async def paris(postgres: str, now: datetime, rounds: int, sqlite: bool) -> None:
    """The 17 mairies alone, each with a month of bookings: (d) beside (a)."""
    name = "bench_network_paris"
    admin = await asyncpg.connect(postgres)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{server_of(postgres)}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
        await fill(url, "postgresql", 0, now)
        await search(url, "postgresql", now, rounds, paris=True)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    if sqlite:
        with tempfile.TemporaryDirectory() as folder:
            lite = f"sqlite+aiosqlite:///{Path(folder) / 'paris.db'}"
            await fill(lite, "sqlite", 0, now)
            await search(lite, "sqlite", now, rounds, paris=True)


if __name__ == "__main__":
    asyncio.run(main())
