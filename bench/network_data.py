"""The national network of `bench.network`: the Paris demo, then generated sites spread
over metropolitan France with their stations and weekly hours, and a month of bookings
on free grid steps, all written in bulk."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import func, insert, select, text

from app.booking.models import Appointment
from app.db import Database, token_digest
from app.sites.demo import load_demo
from app.sites.hours import local_instant
from app.sites.models import Service, Site, Station, WeeklyHours

FRANCE = ZoneInfo("Europe/Paris")
STEP = timedelta(minutes=30)
CHUNK = 10_000
WRITERS = 3  # chunks written at once, each on its own connection
PREFIX = "site-"
BOOKED_SERVICES = ("caf", "impots", "france-travail", "ants")  # the 30-minute démarches

# Towns of metropolitan France: name, postcode, latitude, longitude. Each generated site
# is placed near one of them.
TOWNS = [
    ("Lille", "59000", 50.63, 3.06), ("Amiens", "80000", 49.89, 2.30),
    ("Rouen", "76000", 49.44, 1.10), ("Caen", "14000", 49.18, -0.37),
    ("Brest", "29200", 48.39, -4.49), ("Rennes", "35000", 48.11, -1.68),
    ("Nantes", "44000", 47.22, -1.55), ("Angers", "49000", 47.47, -0.55),
    ("Le Mans", "72000", 48.00, 0.20), ("Tours", "37000", 47.39, 0.69),
    ("Orléans", "45000", 47.90, 1.90), ("Versailles", "78000", 48.80, 2.13),
    ("Saint-Denis", "93200", 48.94, 2.36), ("Créteil", "94000", 48.79, 2.46),
    ("Reims", "51100", 49.26, 4.03), ("Metz", "57000", 49.12, 6.18),
    ("Nancy", "54000", 48.69, 6.18), ("Strasbourg", "67000", 48.57, 7.75),
    ("Mulhouse", "68100", 47.75, 7.34), ("Besançon", "25000", 47.24, 6.02),
    ("Dijon", "21000", 47.32, 5.04), ("Troyes", "10000", 48.30, 4.08),
    ("Poitiers", "86000", 46.58, 0.34), ("Limoges", "87000", 45.83, 1.26),
    ("La Rochelle", "17000", 46.16, -1.15), ("Bordeaux", "33000", 44.84, -0.58),
    ("Pau", "64000", 43.30, -0.37), ("Bayonne", "64100", 43.49, -1.47),
    ("Toulouse", "31000", 43.60, 1.44), ("Montauban", "82000", 44.02, 1.35),
    ("Perpignan", "66000", 42.70, 2.90), ("Montpellier", "34000", 43.61, 3.88),
    ("Nîmes", "30000", 43.84, 4.36), ("Avignon", "84000", 43.95, 4.81),
    ("Marseille", "13001", 43.30, 5.37), ("Toulon", "83000", 43.12, 5.93),
    ("Nice", "06000", 43.70, 7.27), ("Grenoble", "38000", 45.19, 5.72),
    ("Chambéry", "73000", 45.56, 5.92), ("Annecy", "74000", 45.90, 6.13),
    ("Lyon", "69001", 45.76, 4.84), ("Saint-Étienne", "42000", 45.44, 4.39),
    ("Clermont-Ferrand", "63000", 45.78, 3.08), ("Valence", "26000", 44.93, 4.89),
    ("Bourges", "18000", 47.08, 2.40), ("Nevers", "58000", 46.99, 3.16),
    ("Brive-la-Gaillarde", "19100", 45.16, 1.53), ("Rodez", "12000", 44.35, 2.57),
    ("Auxerre", "89000", 47.80, 3.57), ("Quimper", "29000", 48.00, -4.10),
]  # fmt: skip
KINDS = ("Mairie de", "France Services", "Espace numérique de", "Maison France Services de")
QUARTERS = ("Centre", "Nord", "Sud", "Est", "Ouest", "Gare", "Les Prés", "Le Bourg", "Haut")
STREETS = ("rue de la République", "place de la Mairie", "avenue Jean Jaurès", "rue Victor Hugo",
           "boulevard Gambetta", "rue Pasteur", "place du Marché", "rue de l'Église")  # fmt: skip


@dataclass(frozen=True)
class Generated:
    """What was written, and how long it took."""

    sites: int
    stations: int
    appointments: int
    seconds: float


def first_day(now: datetime) -> date:
    """The month of bookings starts the day after `now`."""
    return now.astimezone(FRANCE).date() + timedelta(days=1)


def _hours(rng: random.Random) -> list[tuple[int, clock, clock]]:
    """Mon–Fri 09:00–12:30 and 13:30–17:30, with each site's own variations."""
    opens = rng.choice((clock(8, 30), clock(9), clock(9), clock(9, 30)))
    closes = rng.choice((clock(17), clock(17, 30), clock(17, 30), clock(18)))
    rows = []
    for weekday in range(5):
        rows.append((weekday, opens, clock(12, 30)))
        if not (weekday == 2 and rng.random() < 0.3):  # some close on Wednesday afternoons
            rows.append((weekday, clock(13, 30), closes))
    if rng.random() < 0.2:
        rows.append((5, clock(9), clock(12)))
    return rows


def _sites(rng: random.Random, count: int) -> Iterator[dict[str, Any]]:
    for number in range(1, count + 1):
        town, postcode, lat, lon = rng.choice(TOWNS)
        kind = rng.choice(KINDS)
        quarter = rng.choice(QUARTERS)
        yield {
            "slug": f"{PREFIX}{number:04d}",
            "name": f"{kind} {town} {quarter}"[:120],
            "address": f"{rng.randint(1, 120)} {rng.choice(STREETS)}, {postcode} {town}",
            "timezone": "Europe/Paris",
            "arrondissements": [],
            "latitude": round(lat + rng.uniform(-0.35, 0.35), 5),
            "longitude": round(lon + rng.uniform(-0.5, 0.5), 5),
            "access": "",
        }


async def generated_sites(db: Database) -> list[tuple[int, str]]:
    """The generated sites already in the database: id and slug, in slug order."""
    async with db.session() as session:
        rows = await session.execute(
            select(Site.id, Site.slug).where(Site.slug.like(f"{PREFIX}%")).order_by(Site.slug)
        )
        return [(row.id, row.slug) for row in rows]


async def generate(db: Database, count: int, now: datetime, seed: int = 2026) -> Generated:
    """The demo, `count` sites with their stations and hours, and 40–70 % of each
    generated station's time booked over the 31 days after `now`."""
    started = time.perf_counter()
    rng = random.Random(seed)
    async with db.writing() as session:
        await load_demo(session, today=now.date())
    async with db.writing() as session:
        site_rows = list(_sites(rng, count))
        for start in range(0, len(site_rows), CHUNK):
            await session.execute(insert(Site), site_rows[start : start + CHUNK])
    sites = await generated_sites(db)
    station_rows, hour_rows = [], []
    for site_id, _slug in sites:
        stations = rng.randint(3, 6)
        doubles = 2 if stations >= 5 else 1
        for number in range(1, stations + 1):
            kind = "double" if number > stations - doubles else "standard"
            station_rows.append(
                {
                    "site_id": site_id,
                    "name": f"Poste {number}",
                    "kind": kind,
                    "accessible": number == 1 or kind == "double",
                    "active": True,
                    "position": number,
                }
            )
        for weekday, opens, closes in _hours(rng):
            hour_rows.append(
                {"site_id": site_id, "weekday": weekday, "opens": opens, "closes": closes}
            )
    async with db.writing() as session:
        for start in range(0, len(station_rows), CHUNK):
            await session.execute(insert(Station), station_rows[start : start + CHUNK])
        for start in range(0, len(hour_rows), CHUNK):
            await session.execute(insert(WeeklyHours), hour_rows[start : start + CHUNK])
    booking = time.perf_counter()
    rebuilt = await _drop_indexes(db)
    appointments = await _book(db, rng, now)
    await _restore(db, rebuilt)
    print(f"  {appointments:,} appointments written in {time.perf_counter() - booking:.1f} s")
    await _rebuild_free_time(db, now)
    if not db.is_sqlite:
        async with db.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
    return Generated(len(sites), len(station_rows), appointments, time.perf_counter() - started)


async def _book(db: Database, rng: random.Random, now: datetime) -> int:
    """Appointments of 30 minutes on the 30-minute grid of each weekly opening range, a
    share of 40 to 70 % of the steps of each site, written CHUNK rows at a time."""
    async with db.session() as session:
        services = dict(
            (await session.execute(select(Service.code, Service.id).where(
                Service.code.in_(BOOKED_SERVICES)))).tuples().all()
        )  # fmt: skip
        stations: dict[int, list[int]] = {}
        for station_id, site_id in await session.execute(
            select(Station.id, Station.site_id).where(Station.active).order_by(Station.id)
        ):
            stations.setdefault(site_id, []).append(station_id)
        hours: dict[int, list[tuple[int, clock, clock]]] = {}
        for row in await session.execute(
            select(WeeklyHours.site_id, WeeklyHours.weekday, WeeklyHours.opens,
                   WeeklyHours.closes).where(WeeklyHours.nth_in_month.is_(None))
        ):  # fmt: skip
            hours.setdefault(row.site_id, []).append((row.weekday, row.opens, row.closes))
        base = await session.scalar(select(func.coalesce(func.max(Appointment.id), 0))) or 0
    service_ids = [services[code] for code in BOOKED_SERVICES]
    days = [first_day(now) + timedelta(days=offset) for offset in range(31)]
    written = 0
    batch: list[dict[str, Any]] = []
    writes: set[asyncio.Task[None]] = set()
    for site_id in sorted(stations):
        share = rng.uniform(0.4, 0.7)
        for day in days:
            for weekday, opens, closes in hours.get(site_id, []):
                if weekday != day.weekday():
                    continue
                start = local_instant(day, opens, FRANCE)
                end = local_instant(day, closes, FRANCE)
                while start + STEP <= end:
                    for station in stations[site_id]:
                        if rng.random() < share:
                            number = base + written + len(batch) + 1
                            service = rng.choice(service_ids)
                            batch.append(
                                _appointment(number, site_id, station, start, service, now)
                            )
                    start += STEP
        if len(batch) >= CHUNK:
            if len(writes) >= WRITERS:
                _done, writes = await asyncio.wait(writes, return_when=asyncio.FIRST_COMPLETED)
            writes.add(asyncio.create_task(_write(db, batch)))
            written += len(batch)
            batch = []
    writes.add(asyncio.create_task(_write(db, batch)))
    await asyncio.gather(*writes)
    return written + len(batch)


def _appointment(
    number: int,
    site_id: int,
    station: int,
    start: datetime,
    service: int,
    now: datetime,
) -> dict[str, Any]:
    return {
        "reference": f"NW-{number:08d}",
        "token": f"network-token-{number:012d}",
        "site_id": site_id,
        "station_id": station,
        "service_id": service,
        "starts_at": start,
        "ends_at": start + STEP,
        "status": "booked",
        "channel": "online",
        "name": "Usager",
        "email": f"u{number}@example.org",
        "needs": [],
        "reminders_by_email": False,
        "reminders_by_sms": False,
        "sequence": 0,
        "created_at": now,
        "updated_at": now,
    }


async def _write(db: Database, rows: list[dict[str, Any]]) -> None:
    """One executemany on SQLite; on PostgreSQL one COPY, several times faster."""
    if not rows:
        return
    async with db.writing() as session:
        if db.is_sqlite:
            await session.execute(insert(Appointment), rows)
            return
        for row in rows:
            row["token_digest"] = token_digest(row["token"])
            row["needs"] = "[]"
            row["language"] = "fr"
        columns = list(rows[0])
        connection = await (await session.connection()).get_raw_connection()
        await connection.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            "appointments",
            records=[tuple(row[c] for c in columns) for row in rows],
            columns=columns,
        )


async def _drop_indexes(db: Database) -> list[str]:
    """On PostgreSQL, the appointments' indexes and constraints (the exclusion one among
    them) are dropped for the load and built once afterwards, several times faster than
    kept up row by row. What rebuilds them."""
    if db.is_sqlite:
        return []
    async with db.writing() as session:
        constraints = (
            await session.execute(
                text(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = 'appointments'::regclass AND contype IN ('u', 'x')"
                )
            )
        ).all()
        names = {name for name, _ in constraints}
        indexes = (
            await session.execute(
                text(
                    "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = "
                    "'appointments' AND i.indexname NOT IN (SELECT conname FROM pg_constraint "
                    "WHERE conrelid = 'appointments'::regclass)"
                )
            )
        ).all()
        for name, _ in constraints:
            await session.execute(text(f'ALTER TABLE appointments DROP CONSTRAINT "{name}"'))
        for name, _ in indexes:
            if name not in names:
                await session.execute(text(f'DROP INDEX "{name}"'))
    return [
        *(f'ALTER TABLE appointments ADD CONSTRAINT "{name}" {rule}' for name, rule in constraints),
        *(definition for _, definition in indexes),
    ]


async def _restore(db: Database, statements: list[str]) -> None:
    """The indexes and constraints again, on a connection with no command timeout: the
    exclusion constraint over a million and a half rows takes minutes."""
    if db.is_sqlite:
        async with db.writing() as session:
            for statement in statements:
                await session.execute(text(statement))
        return
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(url, command_timeout=None)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _rebuild_free_time(db: Database, now: datetime) -> None:
    """The per-station per-day summary of free time the first-free-slot search reads (the
    bulk load went round the ORM, so nothing kept it)."""
    from app.booking import free_time

    started = time.perf_counter()
    await free_time.roll_all(db, now, whole=True)
    print(f"  free-time summary rebuilt in {time.perf_counter() - started:.1f} s")


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
