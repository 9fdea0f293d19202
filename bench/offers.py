"""The offer engine of earlier slots: 1,000 slots freed by cancellations at the 17
mairies, 10,000 people waiting for an earlier appointment, on SQLite and PostgreSQL.

The clock stands still at Monday 30 November 2026, 08:00 in Paris (the demo's week). The
mairies take no walk-ins and every 30-minute step of every station is booked from today
to the last day somebody waits for: today, then `--days` open days of appointments nobody
waits about, then those of the people waiting (one each, a distinct email, a wish in a
random order), shared out by stations; four démarches of 30 minutes, drawn at random.
`--freed` appointments of those `--days` days, drawn at random, are then cancelled one
by one through `app.booking.commands.cancel`, which marks their days freed. The engine
(`engine.run`, called until no freed day is left) then looks at those days only, one
transaction a mairie (from its first freed day to its last).

Measured: offers made, and offers per second over the engine's time (with the CPU time
this process spent in it, steadier on a shared machine: on SQLite that is all the work);
for each offer, from the commit of the cancellation that freed its slot to the commit of
the transaction that wrote the offer. That is wall-clock time: `Offer.made_at` is the
engine's fixed `now`, so the bench stamps each commit itself (SQLAlchemy's `after_flush`
and `after_commit` session events). All the slots are freed before the engine starts,
so that delay also holds the rest of the freeing: it is given from the engine's start
too, and the mean time of one transaction (one mairie's freed days) bounds what a
cancellation costs the engine alone.

The baseline is the slow path, `engine.sweep`, on a copy of the same database taken
before the engine ran (the file on SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL):
every day somebody waits for at every mairie, one transaction a mairie.

Run: .venv/bin/python -m bench.offers [--waiting 10000] [--freed 1000] [--mairies 17]
     [--days 5] [--only sqlite|postgresql] [--postgres URL]
A quick check: --waiting 1000 --freed 100.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session

from app import schema
from app.booking.commands import cancel
from app.booking.models import Appointment
from app.db import Database, sqlite_path
from app.sites.demo import load_demo
from app.sites.models import Service, Site, Station
from app.sites.service import site_calendar
from app.waitlist import engine
from app.waitlist.models import FreedDay, Offer, Wish
from bench.timing import on_each_database, percentiles

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=PARIS)  # a Monday morning, the demo's week
STEP = timedelta(minutes=30)
# Démarches of 30 minutes on a standard station: a freed step fits any of them.
SERVICES = ("caf", "impots", "france-travail", "ants")


# When each transaction committed, by the bench's own wall clock: the offers a session
# flushed are stamped with its commit.
@dataclass
class Stamps:
    last_commit: float = 0.0
    offers: dict[int, float] = field(default_factory=dict)


STAMPS = Stamps()


def _flushed(session: Session, _context: object) -> None:
    new = [obj.id for obj in session.new if isinstance(obj, Offer)]
    if new:
        session.info.setdefault("bench_offers", []).extend(new)


def _committed(session: Session) -> None:
    STAMPS.last_commit = time.perf_counter()
    for offer_id in session.info.pop("bench_offers", []):
        STAMPS.offers[offer_id] = STAMPS.last_commit


event.listen(Session, "after_flush", _flushed)
event.listen(Session, "after_commit", _committed)


@dataclass(frozen=True, slots=True)
class Place:
    site_id: int
    station_id: int
    start: datetime


def shares(total: int, weights: dict[int, int]) -> dict[int, int]:
    """`total` shared out in proportion to `weights` (largest remainders)."""
    whole = sum(weights.values())
    exact = {key: total * weight / whole for key, weight in weights.items()}
    given = {key: int(value) for key, value in exact.items()}
    rest = sorted(exact, key=lambda key: exact[key] - given[key], reverse=True)
    for key in rest[: total - sum(given.values())]:
        given[key] += 1
    return given


def row(number: int, place: Place, service: int, kind: str) -> dict[str, Any]:
    email = f"{kind}{number}@example.org"
    return {
        "reference": f"B{kind[0].upper()}{number:06d}",
        "token": f"bench-{kind}-{number:012d}",
        "site_id": place.site_id,
        "station_id": place.station_id,
        "service_id": service,
        "starts_at": place.start,
        "ends_at": place.start + STEP,
        "status": "booked",
        "channel": "phone",
        "name": f"Personne {number}",
        "email": email,
        "email_key": email,
        "needs": [],
        "reminders_by_email": False,
        "reminders_by_sms": False,
        "sequence": 0,
        "created_at": NOW - timedelta(days=7),
        "updated_at": NOW - timedelta(days=7),
    }


async def fill(
    db: Database, mairies: int, waiting: int, freed: int, days: int, rng: random.Random
) -> tuple[list[Place], int, int]:
    """The demo data made scarce (see the module's docstring); the places to free, drawn
    at random in the order they will be freed, and how many appointments and open
    mairie-days were written."""
    async with db.writing() as session:
        await load_demo(session, today=NOW.date())
    async with db.writing() as session:
        sites = list(await session.scalars(select(Site).order_by(Site.id).limit(mairies)))
        services = list(await session.scalars(select(Service.id).where(Service.code.in_(SERVICES))))
        stations: dict[int, list[int]] = {}
        for site in sites:
            site.walk_in_percent = 0
            stations[site.id] = list(
                await session.scalars(
                    select(Station.id)
                    .where(Station.site_id == site.id, Station.active)
                    .order_by(Station.position, Station.id)
                )
            )
        waiting_at = shares(waiting, {site_id: len(ids) for site_id, ids in stations.items()})
        first = NOW.date()  # today is full too, and nothing of it is freed
        window: list[Place] = []  # the places that may be freed
        rows: list[dict[str, Any]] = []
        waiting_rows: list[dict[str, Any]] = []
        open_days = 0
        for site in sites:
            calendar = await site_calendar(session, site, first, first + timedelta(days=365))
            left, day_number, day = waiting_at[site.id], -1, first
            while left > 0 or day_number < days:
                opening = calendar.day(day)
                day += timedelta(days=1)
                if not opening.is_open:
                    continue
                day_number += 1
                open_days += 1
                for opens, closes in opening.intervals:
                    start = opens
                    while start + STEP <= closes:
                        for station_id in stations[site.id]:
                            place = Place(site.id, station_id, start)
                            service = rng.choice(services)
                            if day_number > days and left > 0:
                                left -= 1
                                waiting_rows.append(row(len(waiting_rows), place, service, "w"))
                            else:
                                if 0 < day_number <= days:
                                    window.append(place)
                                rows.append(row(len(rows), place, service, "f"))
                        start += STEP
        for chunk in range(0, len(rows), 2000):
            await session.execute(insert(Appointment), rows[chunk : chunk + 2000])
        for chunk in range(0, len(waiting_rows), 2000):
            await session.execute(insert(Appointment), waiting_rows[chunk : chunk + 2000])
        asked = list(
            await session.execute(
                select(Appointment.id, Appointment.site_id).where(Appointment.reference.like("BW%"))
            )
        )
        rng.shuffle(asked)
        wishes = [
            {
                "appointment_id": appointment_id,
                "site_id": site_id,
                "before": None,
                "created_at": NOW - timedelta(days=1) + timedelta(seconds=n),
            }
            for n, (appointment_id, site_id) in enumerate(asked)
        ]
        for chunk in range(0, len(wishes), 2000):
            await session.execute(insert(Wish), wishes[chunk : chunk + 2000])
    return rng.sample(window, min(freed, len(window))), len(rows) + len(waiting_rows), open_days


async def free(db: Database, places: list[Place]) -> tuple[dict[Place, float], list[float]]:
    """Cancel the appointments at `places` one by one, as their people would; the wall
    clock of each cancellation's commit, and how long each took."""
    async with db.session() as session:
        tokens = {
            Place(site_id, station_id, start): token
            for site_id, station_id, start, token in await session.execute(
                select(
                    Appointment.site_id,
                    Appointment.station_id,
                    Appointment.starts_at,
                    Appointment.token,
                ).where(Appointment.reference.like("BF%"))
            )
        }
    committed, took = {}, []
    for place in places:
        started = time.perf_counter()
        async with db.session() as session:
            await cancel(session, tokens[place], now=NOW)
        took.append(time.perf_counter() - started)
        committed[place] = STAMPS.last_commit
    return committed, took


@dataclass
class Round:
    made: int
    seconds: float
    transactions: int
    # (site, station, start) of each offer written, with its commit's wall clock.
    offers: list[tuple[Place, float]]
    started: float
    cpu: float


async def measured(db: Database, work: Callable[[], Awaitable[int]], transactions: int) -> Round:
    STAMPS.offers.clear()
    started, cpu = time.perf_counter(), time.process_time()
    made = await work()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    async with db.session() as session:
        rows = await session.execute(
            select(Offer.id, Offer.site_id, Offer.station_id, Offer.starts_at)
        )
        offers = [(Place(s, st, start), STAMPS.offers[i]) for i, s, st, start in rows]
    return Round(made, seconds, transactions, offers, started, cpu)


# The transactions `run_until_done` had the engine open (one per mairie and round).
RUN_TRANSACTIONS: list[int] = []


async def run_until_done(db: Database) -> int:
    """`engine.run` as the scheduler calls it, until no freed day is left."""
    made = 0
    while True:
        async with db.session() as session:
            sites = await session.scalar(select(func.count(func.distinct(FreedDay.site_id))))
        RUN_TRANSACTIONS.append(int(sites or 0))
        made += await engine.run(db, NOW)
        async with db.session() as session:
            if not await session.scalar(select(func.count()).select_from(FreedDay)):
                return made


async def sites_waited_at(db: Database) -> int:
    async with db.session() as session:
        found = await session.scalar(select(func.count(func.distinct(Wish.site_id))))
        return int(found or 0)


async def freed_days(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(FreedDay)) or 0)


@asynccontextmanager
async def copy_of(url: str, admin: str) -> AsyncIterator[str]:
    """A copy of the database at `url` (nothing may be connected to it), dropped after."""
    path = sqlite_path(url)
    if path is not None:
        copy = path.replace(".db", "-copy.db")
        for suffix in ("", "-wal", "-shm"):
            with suppress(FileNotFoundError):
                shutil.copyfile(path + suffix, copy + suffix)
        yield url.replace(path, copy)
        return
    base, name = url.rsplit("/", 1)
    copy = f"{name}_copy"
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
        yield f"{base}/{copy}"
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        await connection.close()


def spread(seconds: list[float]) -> str:
    if not seconds:
        return "no offer"
    ordered = sorted(seconds)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    median = statistics.median(ordered)
    return f"p50 {median:7.2f} s   p95 {p95:7.2f} s   max {ordered[-1]:7.2f} s"


def report(name: str, result: Round, freed_at: dict[Place, float] | None) -> None:
    rate = result.made / result.seconds if result.seconds else 0.0
    each = result.seconds / result.transactions * 1000 if result.transactions else 0.0
    print(
        f"  {name:<33} {result.made:>5} offers in {result.seconds:7.2f} s "
        f"(CPU {result.cpu:6.2f} s)  {rate:7.1f} per second   "
        f"{result.transactions} transactions, {each:.0f} ms each"
    )
    from_start = [at - result.started for _, at in result.offers]
    if freed_at is not None:
        delays = [at - freed_at[place] for place, at in result.offers if place in freed_at]
        print(f"    from the slot's freeing to its offer   {spread(delays)}")
    print(f"    from the engine's start to each offer  {spread(from_start)}")
    strays = sum(1 for place, _ in result.offers if freed_at is not None and place not in freed_at)
    if strays:
        print(f"    {strays} offers of slots that were not freed")


async def measure(url: str, label: str, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    await asyncio.to_thread(schema.upgrade, url)
    db = Database(url)
    places, appointments, open_days = await fill(
        db, args.mairies, args.waiting, args.freed, args.days, rng
    )
    sites = await sites_waited_at(db)
    started = time.perf_counter()
    freed_at, took = await free(db, places)
    freeing = time.perf_counter() - started
    marked = await freed_days(db)
    await db.dispose()
    print(
        f"{label}: {sites} mairies, {args.waiting} waiting, {appointments} appointments "
        f"over {open_days} open mairie-days; {len(places)} slots freed on {marked} "
        f"mairie-days"
    )
    p50, p95 = percentiles(took)
    print(
        f"  freeing: {len(took)} cancellations in {freeing:.2f} s "
        f"(p50 {p50:.1f} ms, p95 {p95:.1f} ms each)"
    )
    async with copy_of(url, args.postgres) as copy:
        db = Database(url)
        RUN_TRANSACTIONS.clear()
        fast = await measured(db, lambda: run_until_done(db), 0)
        fast.transactions = sum(RUN_TRANSACTIONS)
        await db.dispose()
        report("engine.run, the freed days", fast, freed_at)
        baseline = Database(copy)
        slow = await measured(baseline, lambda: engine.sweep(baseline, NOW), sites)
        await baseline.dispose()
        report("baseline: engine.sweep, all days", slow, None)
    if fast.seconds and slow.seconds:
        print(
            f"  run / sweep: {fast.made / fast.seconds / (slow.made / slow.seconds or 1):.2f}× "
            f"the offers per second"
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--mairies", type=int, default=17)
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--freed", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=5, help="open days the freed slots are on")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()

    async def each(url: str, label: str) -> None:
        if args.only in (None, label):
            await measure(url, label, args)

    await on_each_database(each, args.postgres)


if __name__ == "__main__":
    asyncio.run(main())
