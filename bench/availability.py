"""A 31-day availability search at a mairie with 6 stations and 5,000 booked
appointments, on SQLite and PostgreSQL, beside the bare SQL query that reads the
same appointments (the floor).

Target: p95 under 20 ms and under 5 times the floor.
Run: .venv/bin/python -m bench.availability [--postgres URL] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient
from sqlalchemy import insert, select

from app import schema
from app.asgi import create_app
from app.booking.models import Appointment
from app.booking.queries import free_slots
from app.config import load_settings
from app.db import Database
from app.sites.demo import load_demo
from app.sites.hours import local_instant
from app.sites.models import Service, Site, Station
from app.sites.service import get_site
from bench.timing import on_each_database, percentiles, timed

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
FIRST, LAST = date(2026, 12, 1), date(2026, 12, 31)
APPOINTMENTS = 5_000


async def fill(db: Database) -> None:
    """The demo data, then 5,000 appointments at paris-15 over 120 days around NOW,
    each on a free 30-minute step of a station, on weekdays from 08:30 to 17:00."""
    async with db.writing() as session:
        await load_demo(session, today=NOW.date())
    async with db.writing() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-15"))
        assert site is not None
        stations = list(await session.scalars(select(Station.id).where(Station.site_id == site.id)))
        service = await session.scalar(select(Service.id).where(Service.code == "caf"))
        places = [
            (
                station,
                local_instant(day, datetime.min.time(), PARIS) + timedelta(minutes=510 + 30 * k),
            )
            for offset in range(-60, 60)
            if (day := NOW.date() + timedelta(days=offset)).weekday() < 5
            for station in stations
            for k in range(17)
        ]
        chosen = random.Random(7).sample(places, APPOINTMENTS)
        rows = [
            {
                "reference": f"BN-{number:06d}",
                "token": f"bench-token-{number:012d}",
                "site_id": site.id,
                "station_id": station,
                "service_id": service,
                "starts_at": start,
                "ends_at": start + timedelta(minutes=30),
                "status": "booked",
                "channel": "online",
                "name": "Bench",
                "email": f"b{number}@example.org",
                "needs": [],
                "reminders_by_email": False,
                "reminders_by_sms": False,
                "sequence": 0,
                "created_at": NOW,
                "updated_at": NOW,
            }
            for number, (station, start) in enumerate(chosen)
        ]
        await session.execute(insert(Appointment), rows)


async def bare_read(db: Database, slug: str, starts: datetime, ends: datetime) -> object:
    """The floor of a search: the bare SQL read of the appointments it weighs."""
    async with db.session() as session:
        site_id = await session.scalar(select(Site.id).where(Site.slug == slug))
        result = await session.execute(
            select(Appointment.station_id, Appointment.starts_at, Appointment.ends_at).where(
                Appointment.site_id == site_id,
                Appointment.status != "cancelled",
                Appointment.starts_at < ends,
                Appointment.ends_at > starts,
            )
        )
        return result.all()


async def measure(url: str, label: str, rounds: int) -> None:
    await asyncio.to_thread(schema.upgrade, url)
    db = Database(url)
    await fill(db)
    settings = load_settings(
        environ={},
        overrides={
            "database_url": url,
            "log_level": "WARNING",
            "availability_requests_per_minute": 1_000_000,
            "requests_per_minute": 10_000_000,
        },
    )
    params = {"service": "caf", "from": FIRST.isoformat(), "to": LAST.isoformat()}
    starts = local_instant(FIRST, datetime.min.time(), PARIS)
    ends = local_instant(LAST + timedelta(days=1), datetime.min.time(), PARIS)
    async with AsyncTestClient(app=create_app(settings, clock=lambda: NOW)) as client:

        async def through_http() -> object:
            response = await client.get("/api/v1/sites/paris-15/availability", params=params)
            assert response.status_code == 200
            return response

        async def service_call() -> object:
            async with db.session() as session:
                site = await get_site(session, "paris-15")
                return await free_slots(session, site, "caf", (), FIRST, LAST, NOW)

        async def floor() -> object:
            return await bare_read(db, "paris-15", starts, ends)

        offered = len((await through_http()).json()["slots"])  # type: ignore[attr-defined]
        http_p50, http_p95 = percentiles(await timed(through_http, rounds))
        core_p50, core_p95 = percentiles(await timed(service_call, rounds))
        floor_p50, floor_p95 = percentiles(await timed(floor, rounds))
    await db.dispose()
    print(f"{label}: {APPOINTMENTS} appointments, 31 days, {offered} slots offered")
    print(f"  GET …/availability (HTTP)   p50 {http_p50:6.2f} ms   p95 {http_p95:6.2f} ms")
    print(f"  free_slots() service      p50 {core_p50:6.2f} ms   p95 {core_p95:6.2f} ms")
    print(f"  floor: bare SQL read        p50 {floor_p50:6.2f} ms   p95 {floor_p95:6.2f} ms")
    print(f"  HTTP p95 / floor p95        {http_p95 / floor_p95:.1f}×")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    await on_each_database(lambda url, label: measure(url, label, args.rounds), args.postgres)


if __name__ == "__main__":
    asyncio.run(main())
